#!/usr/bin/env bash
# Record WebSocket handshakes whose requests ride in the SYN (TCP Fast Open,
# RFC 7413). Usage (as root): scripts/record-fixtures/fastopen.sh
#
# One network namespace of its own, so that the Fast Open setting touches
# nothing else: net.ipv4.tcp_fastopen=0x403 there (client and server on,
# and the server on without asking each listener), the Python websockets
# server (server_websockets.py) unchanged on its loopback, and
# fastopen_client.py sending each handshake with MSG_FASTOPEN: the first
# fetches the server's cookie, the next ones carry the request in the SYN.
# tcpdump captures on that loopback. Writes
# fixtures/fastopen__python-websockets.{pcap,labels.json}; the namespace and
# every process it starts are removed on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NAME=fastopen__python-websockets
OUT="$REPO/fixtures/$NAME"
PORT=18571
NS=wshs-fastopen

if [ "$(id -u)" -ne 0 ]; then
    echo "fastopen.sh: run as root (a namespace and tcpdump need it)" >&2
    exit 1
fi
command -v tcpdump >/dev/null || { apt-get update -qq && apt-get install -y -qq tcpdump; }
python3 -c 'import websockets' 2>/dev/null || python3 -m pip install -q -r "$HERE/requirements.txt"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
cleanup

ip netns add "$NS"
at_ns() { ip netns exec "$NS" "$@"; }
at_ns ip link set lo up
at_ns sysctl -qw net.ipv4.tcp_fastopen=1027

at_ns python3 "$HERE/server_websockets.py" "$PORT" 127.0.0.1 >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    at_ns python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
    sleep 0.1
done

at_ns tcpdump -i lo -s 0 -U -w "$OUT.pcap" "tcp port $PORT" 2>/dev/null &
PIDS+=($!)
sleep 1
at_ns python3 "$HERE/fastopen_client.py" 127.0.0.1 "$PORT" "$OUT.labels.json"
sleep 1
cleanup
trap - EXIT
echo "fastopen.sh: wrote $OUT.pcap and $OUT.labels.json" >&2
