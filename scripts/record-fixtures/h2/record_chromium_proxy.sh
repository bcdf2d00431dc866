#!/usr/bin/env bash
# Record RFC 8441 fixtures of a proxy between a real browser and an
# HTTP/1.1 WebSocket server: headless Chromium speaks HTTP/2 inside TLS to
# the proxy on 127.0.0.1:18529 (a throwaway self-signed certificate) and
# opens wss:///ws, /deny and /strict from the page /page3; the proxy turns
# each extended CONNECT into an HTTP/1.1 upgrade (with a key of its own) to
# hypercorn serving app.py in clear on 127.0.0.1:18530.
#
#   haproxy-h2-tls__chromium      HAProxy, ALPN h2: forwards the upgrade
#   apache-h2-tls__chromium       Apache mod_http2, H2WebSockets on,
#                                 ProxyPass upgrade=websocket, ProxyPreserveHost
#   apache-h2-stripped__chromium  the same without upgrade=websocket: the
#                                 backend gets a plain GET, the browser a 502
#   apache-h2-host__chromium      the same as apache-h2-tls without
#                                 ProxyPreserveHost (Apache's default): the
#                                 backend sees Host 127.0.0.1:18530, which
#                                 app.py never compares with Origin. The
#                                 browser loads /page (/ws, /deny) twice:
#                                 from https://127.0.0.1:18529 (an allowed
#                                 Origin), then https://localhost:18529 (not)
#   nghttpx-h2-tls__chromium      nghttpx, TLS with ALPN h2 in front, its
#                                 default HTTP/1.1 backend: turns the
#                                 extended CONNECT into an upgrade
#
# Labels come from what the two ends said they did: the app's log (path,
# backend-leg port, its decision; a plain GET that carried a key is the
# stripped upgrade) and the proxy's access log (the browser's port, the
# status it was sent). Chromium writes its TLS secrets into
# fixtures/NAME.keylog. Run as root (tcpdump); every process started is
# stopped by its PID; the browser runs at most 40 s.
# Usage: scripts/record-fixtures/h2/record_chromium_proxy.sh [NAME...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "$HERE/../../.." && pwd)/fixtures"
PROXY_PORT=18529
APP_PORT=18530
ALL=(haproxy-h2-tls__chromium apache-h2-tls__chromium apache-h2-stripped__chromium
    apache-h2-host__chromium nghttpx-h2-tls__chromium)
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${ALL[@]}")
TMP="$(mktemp -d -t wshs-h2proxy.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

python3 -c 'import hypercorn' 2>/dev/null || python3 -m pip install -q hypercorn
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v haproxy >/dev/null || need+=(haproxy)
command -v apache2 >/dev/null || need+=(apache2)
command -v nghttpx >/dev/null || need+=(nghttp2-proxy)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/both.pem"

haproxy_config() {
    cat <<EOF
global
    maxconn 64
defaults
    mode http
    log stdout format raw local0
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout tunnel 10s
frontend h2
    bind 127.0.0.1:$PROXY_PORT ssl crt $TMP/both.pem alpn h2,http/1.1
    log-format "%cp %HM %HPO %ST"
    default_backend app
backend app
    server s1 127.0.0.1:$APP_PORT
EOF
}

# $1: the ProxyPass options; $2: ProxyPreserveHost.
apache_config() {
    local mods=/usr/lib/apache2/modules
    cat <<EOF
ServerRoot "/usr/lib/apache2"
ServerName fixture.test
PidFile "$TMP/apache.pid"
ErrorLog "$TMP/apache-error.log"
Mutex file:$TMP
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule http2_module $mods/mod_http2.so
CustomLog "$TMP/proxy.log" "%{remote}p %m %U %>s"
Listen 127.0.0.1:$PROXY_PORT
<VirtualHost 127.0.0.1:$PROXY_PORT>
    SSLEngine on
    SSLCertificateFile $TMP/cert.pem
    SSLCertificateKeyFile $TMP/key.pem
    Protocols h2 http/1.1
    H2WebSockets on
    ProxyPreserveHost ${2:-On}
    ProxyPass / http://127.0.0.1:$APP_PORT/ $1
</VirtualHost>
EOF
}

wait_for() { # file pattern
    for _ in $(seq 1 50); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "record_chromium_proxy.sh: '$2' never appeared in $1" >&2
    return 1
}

stop() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

record() {
    local name=$1 proxy_pid urls=("https://127.0.0.1:$PROXY_PORT/page3")
    case "$name" in
        apache-h2-host__*) urls=("https://127.0.0.1:$PROXY_PORT/page" "https://localhost:$PROXY_PORT/page") ;;
    esac
    rm -f "$TMP/app.jsonl" "$TMP/proxy.log" "$TMP"/net-*.json "$OUT/$name.keylog"
    (cd "$HERE" && WSHS_H2_LOG="$TMP/app.jsonl" exec python3 -m hypercorn \
        --bind "127.0.0.1:$APP_PORT" app:app) >"$TMP/hypercorn.log" 2>&1 &
    local app_pid=$!
    PIDS+=("$app_pid")
    wait_for "$TMP/hypercorn.log" "Running on"
    case "$name" in
        haproxy-*)
            haproxy_config >"$TMP/haproxy.cfg"
            haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/proxy.log" 2>"$TMP/haproxy.err" &
            proxy_pid=$!
            ;;
        apache-h2-tls__*)
            apache_config "upgrade=websocket retry=0" >"$TMP/apache.conf"
            apache2 -X -f "$TMP/apache.conf" &
            proxy_pid=$!
            ;;
        apache-h2-host__*)
            apache_config "upgrade=websocket retry=0" Off >"$TMP/apache.conf"
            apache2 -X -f "$TMP/apache.conf" &
            proxy_pid=$!
            ;;
        apache-h2-stripped__*)
            apache_config "retry=0" >"$TMP/apache.conf"
            apache2 -X -f "$TMP/apache.conf" &
            proxy_pid=$!
            ;;
        nghttpx-*)
            # An empty configuration file keeps the packaged one out.
            : >"$TMP/nghttpx.conf"
            nghttpx --conf="$TMP/nghttpx.conf" --workers=1 \
                --frontend="127.0.0.1,$PROXY_PORT" --backend="127.0.0.1,$APP_PORT" \
                --accesslog-file="$TMP/proxy.log" \
                --accesslog-format='$remote_port $method $path $status' \
                --errorlog-file="$TMP/nghttpx.err" "$TMP/key.pem" "$TMP/cert.pem" &
            proxy_pid=$!
            ;;
        *) echo "record_chromium_proxy.sh: no fixture $name" >&2; exit 2 ;;
    esac
    PIDS+=("$proxy_pid")
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
        sleep 0.1
    done
    tcpdump -i lo -s 0 -U --immediate-mode -w "$OUT/$name.pcap" \
        "tcp port $PROXY_PORT or tcp port $APP_PORT" 2>"$TMP/tcpdump.log" &
    local tcpdump_pid=$!
    PIDS+=("$tcpdump_pid")
    wait_for "$TMP/tcpdump.log" "listening on"
    # Each page load a run: its net log, and where its lines start and end
    # in the app's and the proxy's logs.
    local runs=() i=0 url app_from proxy_from
    lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
    for url in "${urls[@]}"; do
        app_from=$(lines "$TMP/app.jsonl")
        proxy_from=$(lines "$TMP/proxy.log")
        timeout 40 chromium --headless --no-sandbox --disable-gpu --ignore-certificate-errors \
            --ssl-key-log-file="$OUT/$name.keylog" --user-data-dir="$TMP/profile-$name-$i" \
            --log-net-log="$TMP/net-$i.json" \
            --virtual-time-budget=5000 --dump-dom "$url" \
            >"$TMP/dom.html" 2>"$TMP/chromium.log" || true
        sleep 1
        grep -o "<title>[^<]*" "$TMP/dom.html" >&2 || true
        runs+=("$TMP/net-$i.json:$app_from:$(lines "$TMP/app.jsonl"):$proxy_from:$(lines "$TMP/proxy.log")")
        i=$((i + 1))
    done
    kill -INT "$tcpdump_pid"
    wait "$tcpdump_pid" || true
    stop "$proxy_pid"
    stop "$app_pid"
    local proxy_version app_version
    case "$name" in
        haproxy-*) proxy_version="haproxy-$(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')" ;;
        nghttpx-*) proxy_version="nghttpx-$(nghttpx --version | sed -n 's#^nghttpx nghttp2/\([^ ]*\).*#\1#p')" ;;
        *) proxy_version="apache-$(apache2 -v | sed -n 's#^Server version: Apache/\([^ ]*\).*#\1#p')" ;;
    esac
    app_version="hypercorn-$(python3 -c 'from importlib.metadata import version; print(version("hypercorn"))')"
    python3 - "$name" "$TMP/app.jsonl" "$TMP/proxy.log" "$PROXY_PORT" "$APP_PORT" \
        "$proxy_version" "$app_version" "${runs[@]}" >"$OUT/$name.labels.json" <<'PY'
import json, sys
name, app_log, proxy_log, proxy_port, app_port, proxy_impl, app_impl = sys.argv[1:8]
app_lines, proxy_lines = open(app_log).readlines(), open(proxy_log).readlines()


def run(net_log, app_from, app_to, proxy_from, proxy_to):
    """(path, app's record, browser's port, status it received) of one page
    load, in the order the page opened its WebSockets."""
    app = {}
    for line in app_lines[int(app_from):int(app_to)]:
        r = json.loads(line)
        app[r["path"]] = r
    # The browser's port, from the proxy's access log.
    port, connect_ports = {}, set()
    for line in proxy_lines[int(proxy_from):int(proxy_to)]:
        parts = line.split()
        if len(parts) >= 4 and parts[2] in app:
            port[parts[2]] = int(parts[0])
        elif len(parts) >= 4 and parts[1] == "CONNECT":
            connect_ports.add(int(parts[0]))
    # nghttpx logs an extended CONNECT's authority as its path: its streams
    # are told apart only when they all came on one connection.
    if not port and len(connect_ports) == 1:
        port = dict.fromkeys(app, connect_ports.pop())
    # What the browser received on each stream, from its own net log: the
    # proxies' logs give the backend's status (HAProxy its 101, Apache the
    # 200 of a plain answer it turned into a 502).
    net = json.load(open(net_log))
    kinds = {v: k for k, v in net["constants"]["logEventTypes"].items()}
    paths, statuses = {}, {}
    for e in net["events"]:
        kind, params = kinds.get(e["type"]), e.get("params") or {}
        fields = dict(h.split(": ", 1) for h in params.get("headers", []) if ": " in h[1:])
        key = (e["source"]["id"], params.get("stream_id"))
        if kind == "HTTP2_SESSION_SEND_HEADERS" and fields.get(":method") == "CONNECT":
            paths[key] = fields[":path"]
        elif kind == "HTTP2_SESSION_RECV_HEADERS" and ":status" in fields:
            statuses[key] = int(fields[":status"])
    opened = [(k, p) for k, p in sorted(paths.items()) if p in port]
    assert app and sorted(app) == sorted(p for _, p in opened), (app, port, paths, statuses)
    return [(p, app[p], port[p], statuses[k]) for k, p in opened]


def cause(r):
    if r.get("kind") == "http":
        return "proxy-stripped-upgrade", "Upgrade"
    return {200: ("ok", None), 404: ("path-not-found", None),
            403: ("origin-rejected", "Origin")}[r["status"]]

common = {"client_ip": "127.0.0.1", "server_ip": "127.0.0.1", "response_body_excerpt": ""}
client, backend = [], []
for path, r, port, status in (a for spec in sys.argv[8:] for a in run(*spec.split(":"))):
    c, header = cause(r)
    client.append(dict(common, client_port=port, server_port=int(proxy_port), leg="client",
        request_method="CONNECT", request_path=path, status=status, cause=c, header=header,
        server_impl=proxy_impl, http_version="2", tls=True, keys=name + ".keylog",
        note="headless Chromium, wss:// over HTTP/2 (RFC 8441) inside TLS; status from the "
             "proxy's access log, cause from the backend app's decision"))
    backend.append(dict(common, client_port=r["client_port"], server_port=int(app_port),
        leg="backend", request_method="GET", request_path=path,
        status=101 if (r["status"] == 200 and r.get("kind") != "http") else r["status"],
        cause=c, header=header, server_impl=app_impl, http_version="1.1", tls=False,
        note="the proxy's HTTP/1.1 request for it; the app's own log"))
print(json.dumps(client + backend, indent=1))
PY
    echo "record_chromium_proxy.sh: $name: $(lines "$TMP/app.jsonl") backend attempt(s)" >&2
}

for n in "${NAMES[@]}"; do
    record "$n"
done
