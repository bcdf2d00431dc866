#!/usr/bin/env bash
# Record WebSocket handshakes whose requests reach the server as IP fragments.
# Usage (as root): scripts/record-fixtures/fragments.sh
#
# Three network namespaces of its own: a client, a router and a server. The
# client's link is 1500 bytes, the router's link to the server 576, and the
# client sends without Don't Fragment (net.ipv4.ip_no_pmtu_disc=1), so the
# router splits every request longer than 576 bytes into fragments, as a
# tunnel or a small-MTU hop does on a real path. The server's own link
# stays at 1500 bytes, so it advertises the MSS that makes the client send
# whole 1500-byte packets. The Python websockets server (server_websockets.py)
# answers in the server namespace, tcpdump captures on its interface: what
# `wshs-sniff -i` on that host sees. Writes
# fixtures/router-fragments__python-websockets.{pcap,labels.json}; every
# namespace and process it creates is removed on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NAME=router-fragments__python-websockets
OUT="$REPO/fixtures/$NAME"
PORT=18490

. "$HERE/netns.sh"
ns_require fragments.sh tcpdump:tcpdump
C=wshs-frag-client R=wshs-frag-router S=wshs-frag-server
NAMESPACES=("$C" "$R" "$S")
trap ns_cleanup EXIT
ns_cleanup

ip netns add "$C"
ip netns add "$R"
ip netns add "$S"
ip link add c0 netns "$C" type veth peer name r0 netns "$R"
ip link add r1 netns "$R" type veth peer name s0 netns "$S"
at_ns "$C" ip addr add 10.99.1.2/24 dev c0
at_ns "$R" ip addr add 10.99.1.1/24 dev r0
at_ns "$R" ip addr add 10.99.2.1/24 dev r1
at_ns "$S" ip addr add 10.99.2.2/24 dev s0
at_ns "$R" ip link set r1 mtu 576
for ns in "$C" "$R" "$S"; do
    at_ns "$ns" ip link set lo up
done
at_ns "$C" ip link set c0 up
at_ns "$R" ip link set r0 up
at_ns "$R" ip link set r1 up
at_ns "$S" ip link set s0 up
at_ns "$C" ip route add default via 10.99.1.1
at_ns "$S" ip route add default via 10.99.2.1
at_ns "$R" sysctl -qw net.ipv4.ip_forward=1
at_ns "$C" sysctl -qw net.ipv4.ip_no_pmtu_disc=1
# Whole packets on the wire, not offloaded super-segments.
at_ns "$C" ethtool -K c0 tso off gso off >/dev/null 2>&1 || true
at_ns "$S" ethtool -K s0 gro off >/dev/null 2>&1 || true

ns_websockets_server "$S" "$C" 10.99.2.2 "$PORT"

ns_spawn "$S" tcpdump -i s0 -s 0 -U -w "$OUT.pcap" "tcp port $PORT or (ip[6:2] & 0x1fff != 0)"
sleep 1
at_ns "$C" python3 "$HERE/fragments_client.py" 10.99.2.2 "$PORT" "$OUT.labels.json"
sleep 1
ns_cleanup
trap - EXIT
echo "fragments.sh: wrote $OUT.pcap and $OUT.labels.json" >&2
