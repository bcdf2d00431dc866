#!/usr/bin/env bash
# Record the HTTP/2 (RFC 8441) fixtures: hypercorn serving app.py on
# 127.0.0.1:18420, and server_plain_h2.py (an HTTP/2 server without RFC 8441)
# on 127.0.0.1:18421, reached over h2c (prior knowledge) by client_h2c.py
# (the Python `h2` library). Writes fixtures/NAME.pcap and NAME.labels.json, the
# labels built from what the client sent and received. Run as root
# (tcpdump); every process started here is stopped by its PID.
# Usage: scripts/record-fixtures/h2/record_h2.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "$HERE/../../.." && pwd)/fixtures"
PORT=18420
PLAIN_PORT=18421
TMP="$(mktemp -d -t wshs-h2.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

python3 -c 'import hypercorn, h2' 2>/dev/null || python3 -m pip install -q hypercorn h2
(cd "$HERE" && exec python3 -m hypercorn --bind "127.0.0.1:$PORT" app:app) >"$TMP/hypercorn.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do
    grep -q "Running on" "$TMP/hypercorn.log" && break
    sleep 0.1
done
python3 -u "$HERE/server_plain_h2.py" "$PLAIN_PORT" >"$TMP/plain.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 50); do
    grep -q "listening" "$TMP/plain.log" && break
    sleep 0.1
done
HC_VERSION="$(python3 -c 'from importlib.metadata import version; print(version("hypercorn"))')"

record() {  # record NAME PORT IMPL PATH[@ORIGIN]...
    local name="$1" port="$2" impl="$3"; shift 3
    tcpdump -i lo -s 0 -U --immediate-mode -w "$OUT/$name.pcap" "tcp port $port" 2>"$TMP/tcpdump.log" &
    local tpid=$!
    for _ in $(seq 1 50); do grep -q "listening on" "$TMP/tcpdump.log" && break; sleep 0.1; done
    timeout 20 python3 "$HERE/client_h2c.py" 127.0.0.1 "$port" "$@" >"$TMP/$name.json"
    sleep 1
    kill -INT "$tpid"; wait "$tpid" || true
    python3 - "$TMP/$name.json" "$port" "$impl" >"$OUT/$name.labels.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
labels = []
for r in rows:
    ok = r["status"] == 200 and r["connect_enabled"]
    if ok:
        cause, header = "ok", None
    elif not r["connect_enabled"]:
        cause, header = "h2-connect-not-enabled", None
    elif r["origin"] != "http://app.test":
        cause, header = "origin-rejected", "Origin"
    else:
        cause, header = "other", None
    labels.append({
        "client_ip": "127.0.0.1", "client_port": r["client_port"],
        "server_ip": "127.0.0.1", "server_port": int(sys.argv[2]),
        "leg": "client", "request_method": "CONNECT", "request_path": r["path"],
        "status": r["status"], "cause": cause, "header": header,
        "server_impl": sys.argv[3], "response_body_excerpt": "",
        "http_version": "2", "stream_id": r["stream_id"],
        "note": "RFC 8441 extended CONNECT over h2c (prior knowledge), Origin " + r["origin"]
                + ("" if r["connect_enabled"] else "; the server's SETTINGS lack ENABLE_CONNECT_PROTOCOL"),
    })
print(json.dumps(labels, indent=1))
PY
    echo "record_h2.sh: $name: $(wc -l <"$TMP/$name.json") attempt(s)" >&2
}

record "hypercorn-h2c__ok-and-origin-rejected" "$PORT" "hypercorn-$HC_VERSION" "/ws" "/ws@http://evil.test"
record "python-h2-no-rfc8441__connect-not-enabled" "$PLAIN_PORT" "python-h2" "/ws"
