#!/usr/bin/env bash
# Record WebSocket handshakes over a link that loses packets both ways, so
# that the capture holds segments out of order and retransmitted.
# Usage (as root): scripts/record-fixtures/lossy.sh
#
# Two network namespaces of its own joined by a veth pair (addresses in
# 10.99.5.0/24 that exist only inside them), the link at a 576-byte MTU
# with offloads off so that a request leaves as three segments. In each
# namespace nftables drops 15 % of the packets it sends on the WebSocket
# connections (never a SYN), before they reach the wire. tcpdump captures
# on the server's interface, what `wshs-sniff -i` on the server host sees:
# a segment dropped on the way is missing until its retransmission, which
# arrives after the segments sent behind it; a segment the server sends and
# loses is captured only when sent again. The Python websockets server
# answers; fragments_client.py plays its four scenarios (ok, missing
# version, foreign Origin, missing subprotocol) eight times and labels each
# attempt from the scenario and the status line it read back. Writes
# fixtures/lossy__python-websockets.{pcap,labels.json}; every namespace and
# process it creates is removed on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NAME=lossy__python-websockets
OUT="$REPO/fixtures/$NAME"
PORT=18572
ROUNDS=8

if [ "$(id -u)" -ne 0 ]; then
    echo "lossy.sh: run as root (namespaces, nftables and tcpdump need it)" >&2
    exit 1
fi
need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v nft >/dev/null || need+=(nftables)
command -v ethtool >/dev/null || need+=(ethtool)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; fi
python3 -c 'import websockets' 2>/dev/null || python3 -m pip install -q -r "$HERE/requirements.txt"

C=wshs-lossy-client S=wshs-lossy-server
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$C" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT
cleanup

ip netns add "$C"
ip netns add "$S"
ip link add c0 netns "$C" type veth peer name s0 netns "$S"
at_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
at_ns "$C" ip addr add 10.99.5.2/24 dev c0
at_ns "$S" ip addr add 10.99.5.1/24 dev s0
for ns in "$C" "$S"; do
    at_ns "$ns" ip link set lo up
done
for end in "$C c0" "$S s0"; do
    read -r ns dev <<<"$end"
    at_ns "$ns" ip link set "$dev" mtu 576 up
    # Whole packets on the wire, not offloaded super-segments.
    at_ns "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
done
# Random loss on the way out, SYNs spared (their retransmission waits a
# whole second).
at_ns "$C" nft -f - <<EOF
table inet lossy {
    chain out {
        type filter hook output priority 0;
        tcp dport $PORT tcp flags & syn == 0 numgen random mod 100 < 15 drop
    }
}
EOF
at_ns "$S" nft -f - <<EOF
table inet lossy {
    chain out {
        type filter hook output priority 0;
        tcp sport $PORT tcp flags & syn == 0 numgen random mod 100 < 15 drop
    }
}
EOF

at_ns "$S" python3 "$HERE/server_websockets.py" "$PORT" 10.99.5.1 >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    at_ns "$C" python3 -c "import socket; socket.create_connection(('10.99.5.1', $PORT), 0.2).close()" 2>/dev/null && break
    sleep 0.1
done

at_ns "$S" tcpdump -i s0 -s 0 -U -w "$OUT.pcap" "tcp port $PORT" 2>/dev/null &
PIDS+=($!)
sleep 1
at_ns "$C" timeout 300 python3 "$HERE/fragments_client.py" 10.99.5.1 "$PORT" "$OUT.labels.json" "$ROUNDS" lossy
sleep 1
cleanup
trap - EXIT
echo "lossy.sh: wrote $OUT.pcap and $OUT.labels.json" >&2
