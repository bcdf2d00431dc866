#!/usr/bin/env bash
# Record an RFC 8441 fixture from a real browser: hypercorn with TLS (a
# throwaway self-signed certificate) serving app.py on 127.0.0.1:18422, and
# headless Chromium loading /page, whose script opens wss:///ws (accepted)
# and wss:///deny (404). Chromium writes its TLS secrets with
# --ssl-key-log-file into fixtures/NAME.keylog; labels come from what the
# app answered (WSHS_H2_LOG). Run as root (tcpdump); every process started
# is stopped by its PID; the browser runs at most 40 s.
# Usage: scripts/record-fixtures/h2/record_chromium.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "$HERE/../../.." && pwd)/fixtures"
NAME="hypercorn-tls-h2__chromium"
PORT=18422
TMP="$(mktemp -d -t wshs-chromium.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

python3 -c 'import hypercorn' 2>/dev/null || python3 -m pip install -q hypercorn
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
(cd "$HERE" && WSHS_H2_LOG="$TMP/app.jsonl" exec python3 -m hypercorn --bind "127.0.0.1:$PORT" \
    --certfile "$TMP/cert.pem" --keyfile "$TMP/key.pem" app:app) >"$TMP/hypercorn.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do grep -q "Running on" "$TMP/hypercorn.log" && break; sleep 0.1; done
rm -f "$OUT/$NAME.keylog"
tcpdump -i lo -s 0 -U --immediate-mode -w "$OUT/$NAME.pcap" "tcp port $PORT" 2>"$TMP/tcpdump.log" &
TPID=$!
PIDS+=("$TPID")
for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.log" && break; sleep 0.1; done
timeout 40 chromium --headless --no-sandbox --disable-gpu --ignore-certificate-errors \
    --ssl-key-log-file="$OUT/$NAME.keylog" --user-data-dir="$TMP/profile" \
    --virtual-time-budget=5000 --dump-dom "https://127.0.0.1:$PORT/page" >"$TMP/dom.html" 2>"$TMP/chromium.log" || true
sleep 1
kill -INT "$TPID"; wait "$TPID" || true
grep -o "<title>[^<]*" "$TMP/dom.html" >&2 || true
VERSION="$(python3 -c 'from importlib.metadata import version; print(version("hypercorn"))')"
python3 - "$TMP/app.jsonl" "$PORT" "$VERSION" >"$OUT/$NAME.labels.json" <<'PY'
import json, sys
labels = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    cause = {200: "ok", 404: "path-not-found", 403: "origin-rejected"}[r["status"]]
    labels.append({
        "client_ip": "127.0.0.1", "client_port": r["client_port"],
        "server_ip": "127.0.0.1", "server_port": int(sys.argv[2]),
        "leg": "client", "request_method": "CONNECT", "request_path": r["path"],
        "status": r["status"], "cause": cause,
        "header": "Origin" if cause == "origin-rejected" else None,
        "server_impl": "hypercorn-" + sys.argv[3], "response_body_excerpt": "",
        "http_version": "2", "tls": True, "keys": "hypercorn-tls-h2__chromium.keylog",
        "note": "headless Chromium, wss:// over HTTP/2 (RFC 8441) inside TLS; app's answer",
    })
print(json.dumps(labels, indent=1))
PY
echo "record_chromium.sh: $NAME: $(grep -c . "$TMP/app.jsonl") attempt(s)" >&2
