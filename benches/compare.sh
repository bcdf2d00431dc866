#!/usr/bin/env bash
# Throughput, CPU time and peak memory of wshs-sniff against two read-only
# floors, tcpdump and tshark, each ratio taken on the same capture, in one run.
#
#   benches/compare.sh [--size 1G] [--seed 42] [--tshark-size 100M] [--big 4G] [--rounds 5]
#                      [--tshark-rounds N] [--concurrency N] [--baseline BIN] [--pcapng] [--keep]
#                      [--generator gen_capture|mixed|small] [--capture FILE]
#
# Generates (under $TMPDIR, default /tmp) a busy-host capture and its ground
# truth with examples/gen_capture.rs, warms the page cache before every run,
# then measures each run's wall time (a monotonic clock) and user and system
# CPU time (wait4), both in microseconds (/usr/bin/time prints hundredths,
# too coarse for runs of 0.07 s), and its peak RSS (/usr/bin/time):
#   - the libpcap floor: a C loop that only calls pcap_next_ex;
#   - the reader floor: examples/read_floor.rs, wshs-sniff's own file reader
#     walking every record and doing nothing else (reading cost alone);
#   - the same reader decoding every packet to its TCP segment (read_floor
#     --decode: what the capture thread does before handing packets over);
#   - wshs-sniff --json --all (reading and analysis);
#   - tcpdump -r FILE -w /dev/null, once;
#   - tshark with an HTTP display filter and wshs-sniff, both on a smaller
#     capture (tshark is too slow for the big one);
#   - with --baseline BIN, another wshs-sniff build (an older commit's) on
#     both captures in the same rounds: a before/after comparison measured
#     under the same load, since the machine's speed drifts between runs.
# The four on the big capture run alternately --rounds times, tshark and
# wshs-sniff on the small one alternately --tshark-rounds times (default:
# --rounds): wall times on a shared machine vary from run to run, so every
# ratio is taken within a round and the table shows the median of the rounds'
# ratios. The load average before and after the timed rounds is printed with
# the tables. Also checks wshs-sniff's findings against the ground truth; --big
# measures wshs-sniff's peak RSS on a larger capture.
# --pcapng converts every generated capture to pcapng (editcap -F pcapng)
# before any run, so that the pcapng reader is measured against the same
# floors. --capture FILE measures on FILE instead of a generated capture
# (another generator's, a real one): tshark and wshs-sniff then share its
# first --tshark-size bytes' worth of packets (tcpdump -c, whole packets),
# and with no ground truth the findings are only counted. Generated files
# are deleted at the end unless --keep is given.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=1G
SEED=42
TSHARK_SIZE=100M
BIG=""
ROUNDS=5
TSHARK_ROUNDS=""
CONC=()
KEEP=0
PCAPNG=0
BASELINE=""
GENERATOR=gen_capture
EXTERNAL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --tshark-size) TSHARK_SIZE="$2"; shift 2 ;;
    --big) BIG="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --tshark-rounds) TSHARK_ROUNDS="$2"; shift 2 ;;
    --concurrency) CONC=(--concurrency "$2"); shift 2 ;;
    --baseline) BASELINE="$(realpath "$2")"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --pcapng) PCAPNG=1; shift ;;
    --generator) GENERATOR="$2"; shift 2 ;;
    --capture) EXTERNAL="$(realpath "$2")"; shift 2 ;;
    *) echo "usage: $0 [--size 1G] [--seed 42] [--tshark-size 100M] [--big 4G] [--rounds 5] [--tshark-rounds N] [--concurrency N] [--baseline BIN] [--pcapng] [--keep] [--generator gen_capture|mixed|small] [--capture FILE]" >&2; exit 1 ;;
  esac
done
TSHARK_ROUNDS="${TSHARK_ROUNDS:-$ROUNDS}"
case "$GENERATOR" in
  gen_capture|mixed|small) ;;
  *) echo "--generator: gen_capture, mixed or small, not $GENERATOR" >&2; exit 1 ;;
esac

need=()
command -v tshark >/dev/null || need+=(tshark)
[ "$PCAPNG" = 0 ] || command -v editcap >/dev/null || need+=(wireshark-common)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
command -v python3 >/dev/null || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
if [ -n "$EXTERNAL" ] && [ ! -r "$EXTERNAL" ]; then
  echo "--capture: cannot read $EXTERNAL" >&2
  exit 1
fi
if [ -n "$EXTERNAL" ] && { [ "$PCAPNG" = 1 ] || [ -n "$BIG" ]; }; then
  echo "--capture measures the file as it is: no --pcapng or --big with it" >&2
  exit 1
fi
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
  echo "--baseline: $BASELINE is not an executable" >&2
  exit 1
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo build --release --quiet --bin wshs-sniff --example gen_capture --example read_floor
BIN=target/release/wshs-sniff
# generate SIZE OUT TRUTH: the capture and its ground truth, by
# examples/gen_capture.rs or (--generator mixed) by benches/mixed_gen.py, an
# independently written generator with another traffic mix (bulk downloads,
# keep-alive APIs, UDP noise, reordering); it writes at least SIZE bytes.
# --generator small (benches/small_frames.py) writes small WebSocket frames
# on --concurrency settled connections (300 by default), about SIZE bytes at
# some 145 bytes a record: the packet rate, not the byte rate, is the load.
generate() {
  if [ "$GENERATOR" = small ]; then
    local conns="${CONC[1]:-300}" packets
    packets=$(( $(numfmt --from=iec "$1") / 145 ))
    python3 benches/small_frames.py "$conns" "$packets" "$2" "$3" --seed "$SEED" >&2
  elif [ "$GENERATOR" = mixed ]; then
    python3 benches/mixed_gen.py --size "$1" --seed "$SEED" "${CONC[@]}" --out "$2" --truth "$3" >&2
  else
    target/release/examples/gen_capture --size "$1" --seed "$SEED" "${CONC[@]}" --out "$2" --truth "$3"
  fi
}
READ=target/release/examples/read_floor

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wshs-compare.XXXXXX")"
cleanup() { if [ "$KEEP" = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi; }
trap cleanup EXIT

# The floor: read every packet with libpcap's offline reader, touch nothing.
cat > "$WORK/pcap_floor.c" <<'C'
#include <pcap/pcap.h>
#include <stdio.h>
int main(int argc, char **argv) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(argv[1], err);
  if (!p) { fprintf(stderr, "%s\n", err); return 1; }
  struct pcap_pkthdr *h; const unsigned char *d;
  unsigned long long n = 0, bytes = 0; int r;
  while ((r = pcap_next_ex(p, &h, &d)) == 1) { n++; bytes += h->caplen; }
  printf("%llu packets %llu bytes\n", n, bytes);
  pcap_close(p);
  return r == PCAP_ERROR ? 1 : 0;
}
C
gcc -O2 -o "$WORK/pcap_floor" "$WORK/pcap_floor.c" -lpcap

# as_format FILE: the capture to measure, FILE itself or (--pcapng) its
# pcapng conversion, which replaces it.
as_format() {
  if [ "$PCAPNG" = 1 ]; then
    editcap -F pcapng "$1" "${1%.pcap}.pcapng"
    rm -f "$1"
    echo "${1%.pcap}.pcapng"
  else
    echo "$1"
  fi
}
if [ -n "$EXTERNAL" ]; then
  CAP="$EXTERNAL"
  want=$(numfmt --from=iec "$TSHARK_SIZE")
  have=$(stat -c %s "$CAP")
  if [ "$have" -le "$want" ]; then
    SMALL="$CAP"
  else
    # Whole packets, about TSHARK_SIZE of them: a file cut at a byte count
    # would end in a torn record, which both tools report as damage.
    n=$("$WORK/pcap_floor" "$CAP" | awk '{print $1}')
    tcpdump -Z root -r "$CAP" -c $(( n * want / have + 1 )) -w "$WORK/small.pcap" 2> /dev/null
    SMALL="$WORK/small.pcap"
  fi
  SIZE="$(numfmt --to=iec "$have") ($(basename "$CAP"))"
  TSHARK_SIZE="$(numfmt --to=iec "$(stat -c %s "$SMALL")") (its first packets)"
else
  echo "generating $SIZE (seed $SEED, $GENERATOR)..." >&2
  generate "$SIZE" "$WORK/busy.pcap" "$WORK/busy.truth.jsonl"
  CAP="$(as_format "$WORK/busy.pcap")"
  echo "generating $TSHARK_SIZE for tshark..." >&2
  generate "$TSHARK_SIZE" "$WORK/small.pcap" "$WORK/small.truth.jsonl"
  SMALL="$(as_format "$WORK/small.pcap")"
fi

bytes_of() { stat -c %s "$1"; }
# Packet counts, counted once per file (by the floor, outside the timings).
declare -A PACKETS
count_packets() {
  [ -n "${PACKETS[$1]:-}" ] || PACKETS[$1]=$("$WORK/pcap_floor" "$1" | awk '{print $1}')
}
warm() { cat "$1" > /dev/null; }

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
# measure ROUND NAME FILE CMD...: run CMD, record its wall time (monotonic
# clock) and user and system CPU time (wait4, microseconds), and its peak RSS
# (from /usr/bin/time, a small C parent: a child spawned straight from
# Python inherits the interpreter's RSS as its peak).
cat > "$WORK/timed.py" <<'PYT'
import os, sys, time
out = sys.argv[1]
argv = ["/usr/bin/time", "-f", "%M", "-o", out + ".rss"] + sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, _, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
rss = open(out + ".rss").read().split()[-1]
with open(out, "w") as f:
    f.write(f"{wall:.6f}\t{rss}\t{ru.ru_utime:.6f}\t{ru.ru_stime:.6f}\n")
PYT
measure() {
  local round="$1" name="$2" file="$3"; shift 3
  warm "$file"
  python3 "$WORK/timed.py" "$WORK/time.txt" "$@"
  count_packets "$file"
  printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$(bytes_of "$file")" "${PACKETS[$file]}" \
    "$(cat "$WORK/time.txt")" >> "$RESULTS"
}

echo "load before the runs: $(uptime)" >&2
LOAD_BEFORE="$(cat /proc/loadavg)"
# The floors and wshs-sniff alternately on the big capture, then tshark and
# wshs-sniff alternately on the small one: each ratio is taken within a round
# (same moment, same load) and the table shows the median of the rounds'.
# run_build ROUND NAME BIN FILE OUT: one wshs-sniff run, its findings to OUT.
run_build() {
  measure "$1" "$2" "$4" sh -c "'$3' -r '$4' --json --all > '$5' 2> /dev/null"
}
# pair ROUND FILE OUT LABEL: the build and (with --baseline) the baseline on
# FILE, findings to found$OUT.jsonl and found-baseline$OUT.jsonl, rows named
# with LABEL after them. They swap places every other round: the one run
# second came out ahead in the same round often enough to decide a
# comparison of two close builds by itself.
pair() {
  local r="$1" file="$2" out="$3" label="$4"
  local first=build
  [ -z "$BASELINE" ] || [ $((r % 2)) = 1 ] || first=baseline
  [ "$first" = baseline ] || run_build "$r" "wshs-sniff --json --all$label" "$BIN" "$file" "$WORK/found$out.jsonl"
  [ -z "$BASELINE" ] || run_build "$r" "baseline wshs-sniff --json --all$label" "$BASELINE" "$file" "$WORK/found-baseline$out.jsonl"
  [ "$first" = build ] || run_build "$r" "wshs-sniff --json --all$label" "$BIN" "$file" "$WORK/found$out.jsonl"
}
for r in $(seq "$ROUNDS"); do
  measure "$r" "libpcap read loop (floor)" "$CAP" sh -c "'$WORK/pcap_floor' '$CAP' > /dev/null"
  measure "$r" "wshs-sniff reader only (reader floor)" "$CAP" sh -c "'$READ' '$CAP' > /dev/null"
  measure "$r" "wshs-sniff reader + decode" "$CAP" sh -c "'$READ' --decode '$CAP' > /dev/null"
  pair "$r" "$CAP" "" ""
done
measure 1 "tcpdump -r FILE -w /dev/null" "$CAP" sh -c "tcpdump -r '$CAP' -w /dev/null 2> /dev/null"
for r in $(seq "$TSHARK_ROUNDS"); do
  measure "$r" "tshark -Y 'http.upgrade or http.response.code' (small)" "$SMALL" sh -c \
    "tshark -r '$SMALL' -Y 'http.upgrade or http.response.code' -T fields -e ip.src -e ipv6.src -e tcp.srcport -e http.request.method -e http.response.code > /dev/null 2>&1"
  pair "$r" "$SMALL" "-small" " (small)"
done
LOAD_AFTER="$(cat /proc/loadavg)"
if [ -n "$BIG" ]; then
  echo "generating $BIG for peak RSS..." >&2
  rm -f "$SMALL"
  generate "$BIG" "$WORK/big.pcap" "$WORK/big.truth.jsonl"
  BIGCAP="$(as_format "$WORK/big.pcap")"
  run_build 1 "wshs-sniff --json --all ($BIG)" "$BIN" "$BIGCAP" "$WORK/found-big.jsonl"
fi

echo
echo "machine: $(nproc) cores, $(lscpu | awk -F': *' '/Model name/ {print $2; exit}')"
echo "load average (1, 5, 15 min) before the timed rounds: ${LOAD_BEFORE% */*}; after: ${LOAD_AFTER% */*}"
if [ -n "$EXTERNAL" ]; then
  echo "big capture: $SIZE; small capture: $TSHARK_SIZE"
else
  echo "big capture: $SIZE (seed $SEED${CONC[*]:+, ${CONC[*]}}); small capture: $TSHARK_SIZE; format: $([ "$PCAPNG" = 1 ] && echo pcapng || echo pcap)"
fi
echo
python3 - "$RESULTS" <<'PY'
import statistics
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def secs(w):
    return max(float(w), 1e-3)
# name -> round -> (bytes, packets, wall s, rss KiB, cpu s)
by_name = {}
for rnd, name, b, p, wall, rss, user, sys_ in rows:
    by_name.setdefault(name, {})[int(rnd)] = (int(b), int(p), secs(wall), int(rss), float(user) + float(sys_))
print("| tool | runs | capture MB | packets | wall s (median) | CPU s user+sys (median) | CPU/wall | MB/s (wall) | packets/s (wall) | packets/CPU s | peak RSS MiB |")
# Three decimals: the small capture's runs take tens of milliseconds.
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, runs in by_name.items():
    v = list(runs.values())
    b, p = v[0][0], v[0][1]
    wall = statistics.median(r[2] for r in v)
    cpu = statistics.median(r[4] for r in v)
    rss = max(r[3] for r in v)
    print(f"| {name} | {len(v)} | {b/1e6:.0f} | {p} | {wall:.3f} | {cpu:.3f} | {cpu/wall:.2f} | {b/wall/1e6:.0f} | "
          f"{p/wall:,.0f} | {p/max(cpu, 1e-3):,.0f} | {rss/1024:.1f} |")
print()
print("Each round, wall s / CPU s:")
for name, runs in by_name.items():
    if len(runs) > 1:
        print(f"- {name}: " + "  ".join(f"{r[2]:.3f}/{r[4]:.3f}" for _, r in sorted(runs.items())))
W = "wshs-sniff --json --all"
F = "libpcap read loop (floor)"
M = "wshs-sniff reader only (reader floor)"
D = "wshs-sniff reader + decode"
T = "tshark -Y 'http.upgrade or http.response.code' (small)"
S = "wshs-sniff --json --all (small)"
BW = "baseline wshs-sniff --json --all"
BS = "baseline wshs-sniff --json --all (small)"
SHORT = {W: "wshs-sniff", F: "libpcap floor", M: "reader floor", D: "reader + decode", T: "tshark", S: "wshs-sniff",
         BW: "baseline", BS: "baseline"}
# (label, numerator tool, denominator tool, capture, measure): speed ratios
# divide the denominator's seconds by the numerator's (> 1: the numerator is
# faster); CPU ratios divide the numerator's CPU seconds by the denominator's
# (< 1: the numerator spends less).
ratios = [
    ("speed, wall", W, F, "big", "wall"),
    ("CPU time", W, F, "big", "cpu"),
    ("speed, wall", W, M, "big", "wall"),
    ("CPU time", W, M, "big", "cpu"),
    ("speed, wall", M, F, "big", "wall"),
    ("CPU time", M, F, "big", "cpu"),
    ("CPU time", D, M, "big", "cpu"),
    ("speed, wall", S, T, "small", "wall"),
    ("speed, CPU", S, T, "small", "cpu"),
    ("speed, wall", W, BW, "big", "wall"),
    ("CPU time", W, BW, "big", "cpu"),
    ("speed, wall", S, BS, "small", "wall"),
    ("CPU time", S, BS, "small", "cpu"),
]
print()
print("| ratio | numerator | denominator | capture (both) | computed as | rounds | median of the rounds' ratios | min-max |")
print("|---|---|---|---|---|---:|---:|---|")
for label, num, den, cap, what in ratios:
    a, d = by_name.get(num), by_name.get(den)
    if not a or not d:
        continue
    common = sorted(set(a) & set(d))
    i = 2 if what == "wall" else 4
    unit = "wall s" if what == "wall" else "CPU s"
    if label.startswith("speed"):
        vals = [d[r][i] / a[r][i] for r in common]
        how = f"{SHORT[den]} {unit} / {SHORT[num]} {unit}"
    else:
        vals = [a[r][i] / d[r][i] for r in common]
        how = f"{SHORT[num]} {unit} / {SHORT[den]} {unit}"
    fmt = (lambda x: f"{x:.0f}x") if T in (num, den) else (lambda x: f"{x:.2f}x")
    print(f"| {label} | {num} | {den} | {cap}, same file | {how}, same round | {len(vals)} | "
          f"**{fmt(statistics.median(vals))}** | {fmt(min(vals))}-{fmt(max(vals))} |")
PY
echo
if [ -n "$EXTERNAL" ]; then
  echo "no ground truth for --capture: $(wc -l < "$WORK/found.jsonl") attempts found in $SIZE, $(wc -l < "$WORK/found-small.jsonl") in $TSHARK_SIZE"
  exit 0
fi
echo -n "ground truth ($SIZE): "
python3 benches/check_truth.py "$WORK/busy.truth.jsonl" "$WORK/found.jsonl"
echo -n "ground truth ($TSHARK_SIZE): "
python3 benches/check_truth.py "$WORK/small.truth.jsonl" "$WORK/found-small.jsonl"
if [ -n "$BIG" ]; then
  echo -n "ground truth ($BIG): "
  python3 benches/check_truth.py "$WORK/big.truth.jsonl" "$WORK/found-big.jsonl"
fi
