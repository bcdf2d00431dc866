#!/usr/bin/env bash
# Soak: live capture fed at a steady rate for ten minutes. Does wshs-sniff's
# memory stay flat once its tables are warm, and does it find every attempt?
#
#   sudo benches/soak.sh [--size 1G] [--seed 11] [--pps 2000] [--sample 10]
#
# Needs root. Generates a busy-host capture (examples/gen_capture.rs) whose
# connections never repeat, makes it safe to put on a wire exactly as
# benches/live_replay.sh does (IPv6 dropped, VLAN tags stripped, every IPv4
# address rewritten into 127.0.0.0/8, then checked), creates two network
# namespaces of its own joined by a veth pair, starts
#   ip netns exec wshs-b wshs-sniff -i vethB --json --all
# and replays the capture into vethA with tcpreplay --pps=N --timer=nano (it
# sleeps between packets instead of spinning; one pass; 1 GiB at
# 2000 pps is about eleven minutes). Every --sample seconds it reads
# wshs-sniff's VmRSS from /proc. At the end it prints RSS after 1 minute and at
# the end, the kernel's counts, and the findings per cause against an offline
# read (-r) of the same capture. Nothing is sent on the host's interfaces;
# every wait is bounded and the namespaces are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=1G
SEED=11
PPS=2000
SAMPLE=10
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --pps) PPS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    *) echo "usage: $0 [--size 1G] [--seed 11] [--pps 2000] [--sample 10]" >&2; exit 1 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (network namespaces, live capture)" >&2; exit 1; }
for tool in tcpreplay tcprewrite tcpdump ip python3; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (see benches/live_replay.sh)" >&2; exit 1; }
done

cargo build --release --quiet --bin wshs-sniff --example gen_capture
BIN="$PWD/target/release/wshs-sniff"
GEN="$PWD/target/release/examples/gen_capture"
NS_A=wshs-soak-a
NS_B=wshs-soak-b
WORK="$(mktemp -d "${TMPDIR:-/tmp}/wshs-soak.XXXXXX")"
SNIFF_PID=""
cleanup() {
  if [ -n "$SNIFF_PID" ] && kill -0 "$SNIFF_PID" 2>/dev/null; then
    kill "$SNIFF_PID" 2>/dev/null || true
  fi
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. benches/support/sanitise.sh
generate_replay_capture "$GEN" "$SIZE" "$SEED" "$WORK"
CAP="$WORK/replay.pcap"
PKTS=$(tcpdump -r "$CAP" -nn 2>/dev/null | wc -l)
"$BIN" -r "$CAP" --json --all > "$WORK/offline.jsonl" 2>/dev/null
echo "replay capture: $PKTS packets, $(wc -l < "$WORK/offline.jsonl") attempts offline; $(( PKTS / PPS )) s at $PPS pps" >&2

ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vethA netns "$NS_A" type veth peer name vethB netns "$NS_B"
ip -n "$NS_A" link set vethA address 02:00:00:00:aa:01 up
ip -n "$NS_B" link set vethB address 02:00:00:00:bb:01 up

ip netns exec "$NS_B" "$BIN" -i vethB --json --all > "$WORK/live.jsonl" 2> "$WORK/live.err" &
SNIFF_PID=$!
for _ in $(seq 100); do
  grep -q "capturing on" "$WORK/live.err" 2>/dev/null && break
  sleep 0.1
done
grep -q "capturing on" "$WORK/live.err" || { echo "$0: wshs-sniff did not start" >&2; cat "$WORK/live.err" >&2; exit 1; }

ip netns exec "$NS_A" timeout $(( PKTS / PPS + 120 )) \
  tcpreplay -q --timer=nano --pps="$PPS" -i vethA "$CAP" > "$WORK/replay.out" 2>&1 &
REPLAY_PID=$!
START=$(date +%s)
: > "$WORK/rss.tsv"
while kill -0 "$REPLAY_PID" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$SNIFF_PID/status" 2>/dev/null || echo 0)
  printf '%s\t%s\n' "$(( $(date +%s) - START ))" "$rss" >> "$WORK/rss.tsv"
  sleep "$SAMPLE"
done
wait "$REPLAY_PID" || true
sleep 3
kill -INT "$SNIFF_PID"
wait "$SNIFF_PID" || true
SNIFF_PID=""

python3 - "$WORK/rss.tsv" "$WORK/offline.jsonl" "$WORK/live.jsonl" "$WORK/live.err" "$PPS" <<'PY'
import collections, json, re, sys
rss = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
def at(t):
    return min(rss, key=lambda r: abs(r[0] - t))
one = at(60)
end = rss[-1]
print(f"samples: {len(rss)} over {end[0]} s at {sys.argv[5]} pps")
print(f"RSS after {one[0]} s: {one[1] / 1024:.1f} MiB; at {end[0]} s: {end[1] / 1024:.1f} MiB; "
      f"largest: {max(r[1] for r in rss) / 1024:.1f} MiB; end / 1 min: {end[1] / one[1]:.3f}")
print("RSS by minute (MiB): " + " ".join(f"{at(m * 60)[1] / 1024:.1f}" for m in range(1, end[0] // 60 + 1)))
def causes(p):
    return collections.Counter(json.loads(l).get("cause") for l in open(p) if l.strip())
off, live = causes(sys.argv[2]), causes(sys.argv[3])
print(f"attempts: offline {sum(off.values())}, live {sum(live.values())}; "
      + ("same per cause" if off == live else f"DIFFER: offline {dict(off)} live {dict(live)}"))
err = open(sys.argv[4]).read()
k = re.search(r"kernel: .*", err)
print(k.group(0) if k else "kernel: (no counts)")
PY
