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

. "$HERE/netns.sh"
ns_require fastopen.sh tcpdump:tcpdump
NAMESPACES=("$NS")
trap ns_cleanup EXIT
ns_cleanup

ip netns add "$NS"
at_ns "$NS" ip link set lo up
at_ns "$NS" sysctl -qw net.ipv4.tcp_fastopen=1027

ns_websockets_server "$NS" "$NS" 127.0.0.1 "$PORT"

ns_spawn "$NS" tcpdump -i lo -s 0 -U -w "$OUT.pcap" "tcp port $PORT"
sleep 1
at_ns "$NS" python3 "$HERE/fastopen_client.py" 127.0.0.1 "$PORT" "$OUT.labels.json"
sleep 1
ns_cleanup
trap - EXIT
echo "fastopen.sh: wrote $OUT.pcap and $OUT.labels.json" >&2
