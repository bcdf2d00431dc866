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

. "$HERE/netns.sh"
ns_require lossy.sh tcpdump:tcpdump nftables:nft ethtool:ethtool
C=wshs-lossy-client S=wshs-lossy-server
NAMESPACES=("$C" "$S")
trap ns_cleanup EXIT
ns_cleanup

ip netns add "$C"
ip netns add "$S"
ip link add c0 netns "$C" type veth peer name s0 netns "$S"
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
for end in "$C dport" "$S sport"; do
    read -r ns toward <<<"$end"
    at_ns "$ns" nft -f - <<EOF
table inet lossy {
    chain out {
        type filter hook output priority 0;
        tcp $toward $PORT tcp flags & syn == 0 numgen random mod 100 < 15 drop
    }
}
EOF
done

ns_websockets_server "$S" "$C" 10.99.5.1 "$PORT"

ns_spawn "$S" tcpdump -i s0 -s 0 -U -w "$OUT.pcap" "tcp port $PORT"
sleep 1
at_ns "$C" timeout 300 python3 "$HERE/fragments_client.py" 10.99.5.1 "$PORT" "$OUT.labels.json" "$ROUNDS" lossy
sleep 1
ns_cleanup
trap - EXIT
echo "lossy.sh: wrote $OUT.pcap and $OUT.labels.json" >&2
