#!/usr/bin/env bash
# Live capture: the highest packet rate wshs-sniff -i keeps up with, with zero
# kernel drops, and how soon after its response each attempt is reported.
#
#   sudo benches/live_replay.sh [--size 200M] [--seed 7] \
#       [--rates "10000 25000 50000 100000 200000 400000 top"] \
#       [--buffers "default 65536"] [--offloads "on off"] [--timer gtod] [--keep] \
#       [--capture FILE]
#
# Needs root. Generates a busy-host capture (examples/gen_capture.rs), or
# takes FILE (--capture: another generator's, a handshake storm; pcap or
# pcapng, Ethernet, SLL, SLL2, raw IP or loopback), makes it safe to put on a
# wire: every frame made Ethernet, IPv6 (also VLAN-tagged IPv6) dropped, VLAN
# tags stripped, every IPv4 address rewritten into 127.0.0.0/8 and MACs into
# locally administered ones, then checks that nothing but 127/8 <-> 127/8 IPv4
# remains. It creates two network namespaces of its own (wshs-a, wshs-b) joined
# by a veth pair (its MTU raised when the capture holds larger frames), and
# for each setting of vethB's segmentation offloads (on is veth's default;
# libpcap then sizes each ring slot for a 64 KiB packet, off gives slots of
# one MTU), each kernel buffer size (-B, KiB; "default" = none
# given) and each rate (tcpreplay --pps=N, or "top" = --topspeed) starts
#   ip netns exec wshs-b wshs-sniff -i vethB --json --all --duration SECS
# waits for its "capturing on" line, replays from wshs-a into vethA, and reads
# the kernel's received/dropped counts from wshs-sniff's summary, tcpreplay's
# achieved rate, and the CPU seconds of both. Findings are compared with an
# offline read (-r) of the same sanitised capture, attempt by attempt (client,
# server, target, status, cause), and that offline read with the generator's
# ground truth for the IPv4 attempts (addresses are rewritten, so per cause).
# Latency: each output line is stamped with the wall time it came out,
# tcpdump records the response heads on vethB beside wshs-sniff, and
# benches/latency.py subtracts each attempt's response receive time from its
# output time (median, 99th percentile, largest, how many over 1 s). The same
# packets are then replayed at the same rate to `tcpdump -w /dev/null`, the
# peer: its kernel drops and CPU seconds per million packets sent go beside
# wshs-sniff's (per packet on the wire, whatever each one's kernel filter
# let through: wshs-sniff's leaves out bare ACKs), once for the whole run and
# once for the steady state alone (CPU used while the replay runs, read from
# /proc: without the start, where the kernel zeroes wshs-sniff's 32 MiB ring,
# and without the end-of-run report). tcpreplay paces packets with --timer (gtod, its default,
# spins on the clock and keeps a core busy; nano sleeps).
# Every wait is bounded; the namespaces (and any process this script started)
# are removed on exit. Nothing is sent on the host's interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=200M
SEED=7
RATES="10000 25000 50000 100000 200000 400000 top"
BUFFERS="default 65536"
OFFLOADS="on off"
TIMER=gtod
KEEP=0
CAPTURE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --rates) RATES="$2"; shift 2 ;;
    --buffers) BUFFERS="$2"; shift 2 ;;
    --offloads) OFFLOADS="$2"; shift 2 ;;
    --timer) TIMER="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --capture) CAPTURE="$2"; shift 2 ;;
    *) echo "usage: $0 [--size 200M] [--seed 7] [--rates \"50000 ... top\"] [--buffers \"default 65536\"] [--offloads \"on off\"] [--timer gtod|nano] [--keep] [--capture FILE]" >&2; exit 1 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (network namespaces, live capture)" >&2; exit 1; }

need=()
command -v tcpreplay >/dev/null || need+=(tcpreplay)
command -v tcprewrite >/dev/null || need+=(tcpreplay)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ip >/dev/null || need+=(iproute2)
command -v ethtool >/dev/null || need+=(ethtool)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo build --release --quiet --bin wshs-sniff --example gen_capture
# WSHS_BIN=PATH measures another build (e.g. an older one, for comparison).
BIN="${WSHS_BIN:-$PWD/target/release/wshs-sniff}"
GEN="$PWD/target/release/examples/gen_capture"

NS_A=wshs-a
NS_B=wshs-b
for ns in "$NS_A" "$NS_B"; do
  if ip netns list | grep -qw "$ns"; then
    echo "$0: namespace $ns already exists; remove it first (ip netns del $ns)" >&2
    exit 1
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wshs-live.XXXXXX")"
SNIFF_PID=""
RESP_PID=""
cleanup() {
  for pid in $SNIFF_PID $RESP_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the capture, made safe to replay -------------------------------------
. benches/support/sanitise.sh
if [ -n "$CAPTURE" ]; then
  echo "replaying $CAPTURE (no ground truth: attempts are compared with the offline read only)" >&2
  sanitise_for_replay "$CAPTURE" "$WORK/replay.pcap"
else
  generate_replay_capture "$GEN" "$SIZE" "$SEED" "$WORK"
fi
CAP="$WORK/replay.pcap"
PKTS=$(tcpdump -r "$CAP" -nn 2>/dev/null | wc -l)
MAXLEN=$(tcpdump -r "$CAP" -nn -e 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="length"){sub(":","",$(i+1)); print $(i+1); break}}' | sort -n | tail -1)
echo "replay capture: $PKTS packets, all IPv4 127/8, largest frame $MAXLEN bytes, $(stat -c %s "$CAP") bytes" >&2

# Reference: the same capture read offline.
"$BIN" -r "$CAP" --json --all > "$WORK/offline.jsonl" 2> "$WORK/offline.err"
causes() { python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l).get("cause") or "accepted" for l in open(sys.argv[1]) if l.strip())
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))' "$1"; }
# How far a run's findings are from the offline read, attempt by attempt:
# the same (client, server, target, status, cause) on both sides, counted
# with multiplicity. Prints "same", or how many of the offline attempts are
# missing and how many live ones are extra (mostly "unknown" when a packet of
# the exchange was dropped).
attempt_diff() { python3 -c '
import json, sys, collections
def load(p):
    out = collections.Counter()
    for l in open(p):
        if l.strip():
            r = json.loads(l)
            out[(r.get("client"), r.get("server"), r.get("target"), r.get("status"), r.get("cause"))] += 1
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if a == b:
    print("same"); sys.exit()
miss, extra = sum((a - b).values()), sum((b - a).values())
print(f"{miss} missing, {extra} extra")' "$1" "$2"; }
OFFLINE_CAUSES=$(causes "$WORK/offline.jsonl")
echo "offline: $(wc -l < "$WORK/offline.jsonl") attempts: $OFFLINE_CAUSES" >&2
[ -n "$CAPTURE" ] || python3 - "$WORK/truth.jsonl" "$WORK/offline.jsonl" >&2 <<'PY'
import json, sys, collections
truth = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v4 = collections.Counter(t.get("cause") or "accepted" for t in truth
                         if "[" not in t["client"] and t["client"].count(":") == 1)
off = collections.Counter(json.loads(l).get("cause") or "accepted" for l in open(sys.argv[2]) if l.strip())
print(f"ground truth: {len(truth)} attempts, {sum(v4.values())} over IPv4 (replayed);",
      "offline read matches it per cause" if v4 == off else f"offline read DIFFERS: truth {dict(v4)}")
PY

# User+system CPU seconds from a `/usr/bin/time -f '%U %S'` file (which
# starts with a "Command exited with non-zero status" line when it did).
cpu_of() { awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { c = $1 + $2 } END { if (c == "") print "?"; else printf "%.2f", c }' "$1" 2>/dev/null || echo "?"; }

# CPU seconds a running process has used so far, all its threads: the sum of
# the first field of /proc/PID/task/*/schedstat (nanoseconds on a CPU).
# Sampled when the replay starts and shortly after it ends, the difference is
# the CPU of the steady state, without the start (the kernel zeroing a 32 MiB
# ring is about 0.02-0.1 s on this kind of machine) or the end-of-run report.
task_cpu() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.4f", t / 1e9 }'; }
# The newest process with this command name (the first 15 characters), in
# whatever namespace: the one this script just started.
newest() { pgrep -n -x "$(basename "$1" | cut -c1-15)"; }
# Seconds between two task_cpu samples, or "?".
cpu_between() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.3f", b - a }'; }

# Prefixes each line read from stdin with the wall time it arrived.
STAMP='
import sys, time
for line in iter(sys.stdin.buffer.readline, b""):
    sys.stdout.write("%.6f\t%s" % (time.time(), line.decode()))
    sys.stdout.flush()
'

# --- the namespaces ---------------------------------------------------------
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add vethA netns "$NS_A" type veth peer name vethB netns "$NS_B"
ip -n "$NS_A" link set vethA address 02:00:00:00:aa:01 up
ip -n "$NS_B" link set vethB address 02:00:00:00:bb:01 up
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up
# A capture taken on loopback, or with segmentation offloads, holds frames
# above the 1500-byte MTU; the kernel refuses to send those (tcpreplay counts
# them failed), so the pair's MTU is raised to carry the largest one.
if [ -n "$MAXLEN" ] && [ "$MAXLEN" -gt 1514 ]; then
  MTU=$(( MAXLEN - 14 ))
  [ "$MTU" -le 65535 ] || MTU=65535
  ip -n "$NS_A" link set vethA mtu "$MTU"
  ip -n "$NS_B" link set vethB mtu "$MTU"
  echo "veth MTU raised to $MTU for frames up to $MAXLEN bytes" >&2
fi
# Frames go to 02:00:00:00:00:02, not vethB's address: the kernel in wshs-b
# hands them to the capture and discards them, it answers nothing.

# --- the runs ---------------------------------------------------------------
cat /proc/loadavg > "$WORK/load.txt"
printf '| offloads | -B KiB | asked pps | tcpreplay pps | tcpreplay Mbps | kernel received | kernel dropped | packets seen | attempts | tcpreplay CPU s | wshs-sniff CPU s | attempts vs offline | latency s median / p99 / max | over 1 s | latency measured on | tcpdump -w /dev/null: tcpreplay pps, kernel dropped, CPU s | CPU s per M packets sent: wshs-sniff / tcpdump | the same while the replay runs (steady state): wshs-sniff / tcpdump |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---|---|\n'
for off in $OFFLOADS; do
  ip netns exec "$NS_B" ethtool -K vethB tso "$off" gso "$off" gro "$off" 2>/dev/null || true
  ip netns exec "$NS_A" ethtool -K vethA tso "$off" gso "$off" gro "$off" 2>/dev/null || true
  for buf in $BUFFERS; do
  for rate in $RATES; do
    if [ "$rate" = top ]; then
      rflag=(--topspeed); secs=$(( PKTS / 100000 + 3 ))
    else
      rflag=(--pps="$rate"); secs=$(( (PKTS + rate - 1) / rate + 3 ))
    fi
    bflag=(); [ "$buf" = default ] || bflag=(-B "$buf")
    tag="$off-$buf-$rate"
    # The response heads (TCP payload starting "HTTP"), recorded beside
    # wshs-sniff on the same interface: their kernel receive times are when
    # each attempt's answer was on the wire. A few packets in a thousand, so
    # this recording adds little to the kernel's work.
    ip netns exec "$NS_B" timeout $(( secs + 30 )) tcpdump -Z root -i vethB -nn \
      -w "$WORK/$tag.resp.pcap" 'tcp and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x48545450' \
      2> "$WORK/$tag.resp.err" &
    RESP_PID=$!
    # wshs-sniff's output, each line stamped with the wall time it came out
    # (wshs-sniff flushes every attempt): the latency is that time minus the
    # response's receive time (benches/latency.py).
    ip netns exec "$NS_B" /usr/bin/time -f '%U %S' -o "$WORK/$tag.sniff.time" \
      timeout $(( secs + 30 )) "$BIN" -i vethB "${bflag[@]}" --json --all --duration "$secs" \
      2> "$WORK/$tag.err" | python3 -c "$STAMP" > "$WORK/$tag.stamped" &
    SNIFF_PID=$!
    ok=0
    for _ in $(seq 1 100); do
      if grep -qs 'capturing on' "$WORK/$tag.err"; then ok=1; break; fi
      kill -0 "$SNIFF_PID" 2>/dev/null || break
      sleep 0.1
    done
    if [ "$ok" = 0 ]; then
      echo "$0: wshs-sniff did not start:" >&2; cat "$WORK/$tag.err" >&2; exit 1
    fi
    for _ in $(seq 1 100); do
      grep -qs 'listening on' "$WORK/$tag.resp.err" && break
      kill -0 "$RESP_PID" 2>/dev/null || { echo "$0: tcpdump did not start:" >&2; cat "$WORK/$tag.resp.err" >&2; exit 1; }
      sleep 0.1
    done
    spid=$(newest "$BIN" || true)
    s0=$([ -n "$spid" ] && task_cpu "$spid")
    ip netns exec "$NS_A" /usr/bin/time -f '%U %S' -o "$WORK/$tag.replay.time" \
      timeout $(( secs + 30 )) tcpreplay -i vethA --timer="$TIMER" "${rflag[@]}" "$CAP" > "$WORK/$tag.replay" 2>&1 || true
    # Packets still in a kernel block are handed over within 100 ms.
    sleep 0.3
    s1=$([ -n "$spid" ] && task_cpu "$spid")
    steady=$(cpu_between "$s0" "$s1")
    wait "$SNIFF_PID" || true
    SNIFF_PID=""
    kill -INT "$RESP_PID" 2>/dev/null || true
    wait "$RESP_PID" 2>/dev/null || true
    RESP_PID=""
    cut -f2- "$WORK/$tag.stamped" > "$WORK/$tag.jsonl"
    resp_drop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/$tag.resp.err")
    if [ "${resp_drop:-0}" != 0 ]; then
      echo "$0: the response recording lost $resp_drop packets; latencies of $tag are incomplete" >&2
    fi
    tcpdump -tt -nn -r "$WORK/$tag.resp.pcap" 2>/dev/null > "$WORK/$tag.resp.txt" || true
    read -r lmed lp99 lmax lover lon < <(python3 benches/latency.py "$WORK/$tag.stamped" "$WORK/$tag.resp.txt")
    krecv=$(sed -n 's/^kernel: \([0-9]*\) received, \([0-9]*\) dropped.*/\1/p' "$WORK/$tag.err")
    kdrop=$(sed -n 's/^kernel: \([0-9]*\) received, \([0-9]*\) dropped.*/\2/p' "$WORK/$tag.err")
    seen=$(sed -n 's/^packets: \([0-9]*\) .*/\1/p' "$WORK/$tag.err")
    rpps=$(sed -n 's/.*Rated: .*Bps, *\([0-9.]*\) Mbps, *\([0-9.]*\) pps.*/\2/p' "$WORK/$tag.replay" | head -1)
    rmbps=$(sed -n 's/.*Rated: .*Bps, *\([0-9.]*\) Mbps, *\([0-9.]*\) pps.*/\1/p' "$WORK/$tag.replay" | head -1)
    rcpu=$(cpu_of "$WORK/$tag.replay.time")
    scpu=$(cpu_of "$WORK/$tag.sniff.time")
    attempts=$(wc -l < "$WORK/$tag.jsonl")
    same=$(attempt_diff "$WORK/offline.jsonl" "$WORK/$tag.jsonl")

    # The peer on the same packets at the same rate: tcpdump writing to
    # /dev/null as a user would start it (its own default buffer and
    # timeout), for as long as wshs-sniff was given. Its kernel drops and CPU
    # seconds per million packets stand beside wshs-sniff's.
    ip netns exec "$NS_B" /usr/bin/time -f '%U %S' -o "$WORK/$tag.td.time" \
      timeout -s INT "$secs" tcpdump -Z root -i vethB -nn -w /dev/null \
      2> "$WORK/$tag.td.err" &
    RESP_PID=$!
    for _ in $(seq 1 100); do
      grep -qs 'listening on' "$WORK/$tag.td.err" && break
      kill -0 "$RESP_PID" 2>/dev/null || { echo "$0: tcpdump did not start:" >&2; cat "$WORK/$tag.td.err" >&2; exit 1; }
      sleep 0.1
    done
    tpid=$(newest tcpdump || true)
    t0=$([ -n "$tpid" ] && task_cpu "$tpid")
    ip netns exec "$NS_A" timeout $(( secs + 30 )) tcpreplay -i vethA --timer="$TIMER" "${rflag[@]}" "$CAP" \
      > "$WORK/$tag.td.replay" 2>&1 || true
    sleep 0.3
    t1=$([ -n "$tpid" ] && task_cpu "$tpid")
    td_steady=$(cpu_between "$t0" "$t1")
    wait "$RESP_PID" 2>/dev/null || true
    RESP_PID=""
    td_pps=$(sed -n 's/.*Rated: .*Bps, *\([0-9.]*\) Mbps, *\([0-9.]*\) pps.*/\2/p' "$WORK/$tag.td.replay" | head -1)
    td_drop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/$tag.td.err")
    td_cpu=$(cpu_of "$WORK/$tag.td.time")
    per_m() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0 && c != "?") printf "%.2f", c * 1e6 / n; else printf "?" }'; }
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s, %s, %s | %s / %s | %s / %s |\n' \
      "$off" "$buf" "$rate" "${rpps:-?}" "${rmbps:-?}" "${krecv:-?}" "${kdrop:-?}" "${seen:-?}" "$attempts" "$rcpu" "$scpu" "$same" \
      "$lmed" "$lp99" "$lmax" "$lover" "$lon" "${td_pps:-?}" "${td_drop:-?}" "$td_cpu" \
      "$(per_m "$scpu" "$PKTS")" "$(per_m "$td_cpu" "$PKTS")" \
      "$(per_m "$steady" "$PKTS")" "$(per_m "$td_steady" "$PKTS")"
  done
  done
done
echo "tcpreplay timer: $TIMER" >&2
echo "load average before the runs: $(cat "$WORK/load.txt")" >&2
echo "load average after the runs:  $(cat /proc/loadavg)" >&2
