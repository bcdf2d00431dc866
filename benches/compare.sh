#!/usr/bin/env bash
# Throughput and peak memory of wshs-sniff against the libpcap read-only floor,
# tcpdump and tshark, on the same generated capture, in one run.
#
#   benches/compare.sh [--size 1G] [--seed 42] [--tshark-size 100M] [--big 4G] [--rounds 5]
#                      [--concurrency N] [--keep]
#
# Generates (under $TMPDIR, default /tmp) a busy-host capture and its ground
# truth with examples/gen_capture.rs, warms the page cache, then measures with
# /usr/bin/time -v: wshs-sniff --json --all, a C libpcap loop that only reads
# (the floor), tcpdump -r FILE -w /dev/null, and tshark with an HTTP display
# filter on a smaller capture (tshark is too slow for the big one). Reports
# MB/s, packets/s and peak RSS, and whether wshs-sniff's findings match the
# ground truth. --big also measures wshs-sniff's peak RSS on a larger capture.
# The floor and wshs-sniff are run alternately --rounds times (wall times on a
# shared VM vary by 10 % from run to run); the table shows medians, and the
# largest peak RSS of the rounds.
# Generated files are deleted at the end unless --keep is given.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=1G
SEED=42
TSHARK_SIZE=100M
BIG=""
ROUNDS=5
CONC=()
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --tshark-size) TSHARK_SIZE="$2"; shift 2 ;;
    --big) BIG="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --concurrency) CONC=(--concurrency "$2"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--size 1G] [--seed 42] [--tshark-size 100M] [--big 4G] [--rounds 5] [--concurrency N] [--keep]" >&2; exit 1 ;;
  esac
done

need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
[ -x /usr/bin/time ] || need+=(time)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo build --release --quiet --bin wshs-sniff --example gen_capture
BIN=target/release/wshs-sniff
GEN=target/release/examples/gen_capture

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

CAP="$WORK/busy.pcap"
echo "generating $SIZE (seed $SEED)..." >&2
$GEN --size "$SIZE" --seed "$SEED" "${CONC[@]}" --out "$CAP" --truth "$WORK/busy.truth.jsonl"
echo "generating $TSHARK_SIZE for tshark..." >&2
$GEN --size "$TSHARK_SIZE" --seed "$SEED" "${CONC[@]}" --out "$WORK/small.pcap" --truth "$WORK/small.truth.jsonl"

bytes_of() { stat -c %s "$1"; }
packets_of() { "$WORK/pcap_floor" "$1" | awk '{print $1}'; }
warm() { cat "$1" > /dev/null; }

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
# measure NAME FILE CMD...: run under /usr/bin/time -v, record wall, CPU and RSS.
measure() {
  local name="$1" file="$2"; shift 2
  warm "$file"
  /usr/bin/time -v -o "$WORK/time.txt" "$@"
  local wall rss user sys
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  user=$(awk -F': ' '/User time/ {print $2}' "$WORK/time.txt")
  sys=$(awk -F': ' '/System time/ {print $2}' "$WORK/time.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(bytes_of "$file")" "$(packets_of "$file")" \
    "$wall" "$rss" "$user" "$sys" >> "$RESULTS"
}

for _ in $(seq "$ROUNDS"); do
  measure "libpcap read loop (floor)" "$CAP" sh -c "'$WORK/pcap_floor' '$CAP' > /dev/null"
  measure "wshs-sniff --json --all" "$CAP" sh -c "'$BIN' -r '$CAP' --json --all > '$WORK/found.jsonl' 2> /dev/null"
done
measure "tcpdump -r FILE -w /dev/null" "$CAP" sh -c "tcpdump -r '$CAP' -w /dev/null 2> /dev/null"
measure "tshark -Y 'http.upgrade or http.response.code'" "$WORK/small.pcap" sh -c \
  "tshark -r '$WORK/small.pcap' -Y 'http.upgrade or http.response.code' -T fields -e ip.src -e ipv6.src -e tcp.srcport -e http.request.method -e http.response.code > /dev/null 2>&1"
measure "wshs-sniff on the tshark capture" "$WORK/small.pcap" sh -c "'$BIN' -r '$WORK/small.pcap' --json --all > '$WORK/found-small.jsonl' 2> /dev/null"
if [ -n "$BIG" ]; then
  echo "generating $BIG for peak RSS..." >&2
  rm -f "$WORK/small.pcap"
  $GEN --size "$BIG" --seed "$SEED" "${CONC[@]}" --out "$WORK/big.pcap" --truth "$WORK/big.truth.jsonl"
  measure "wshs-sniff --json --all ($BIG)" "$WORK/big.pcap" sh -c "'$BIN' -r '$WORK/big.pcap' --json --all > '$WORK/found-big.jsonl' 2> /dev/null"
fi

echo
echo "machine: $(nproc) cores, $(lscpu | awk -F': *' '/Model name/ {print $2; exit}')"
python3 - "$RESULTS" <<'PY'
import statistics
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
# Several rounds of a tool: median wall and CPU time, largest peak RSS.
by_name = {}
for name, b, p, wall, rss, user, sys_ in rows:
    by_name.setdefault(name, []).append((b, p, wall, rss, float(user) + float(sys_)))
def secs(w):
    parts = [float(x) for x in w.split(":")]
    s = 0.0
    for p in parts:
        s = s * 60 + p
    return max(s, 1e-3)
print(f"| tool | runs | capture MB | packets | wall s (median) | MB/s | packets/s | CPU s (user+sys, median) | peak RSS MiB |")
print(f"|---|---:|---:|---:|---:|---:|---:|---:|---:|")
rate = {}
for name, runs in by_name.items():
    b, p = runs[0][0], runs[0][1]
    s = statistics.median(secs(r[2]) for r in runs)
    cpu = statistics.median(r[4] for r in runs)
    rss = max(int(r[3]) for r in runs)
    mbs = int(b) / s / 1e6
    rate[name] = mbs
    print(f"| {name} | {len(runs)} | {int(b)/1e6:.0f} | {int(p)} | {s:.2f} | {mbs:.0f} | {int(p)/s:,.0f} | "
          f"{cpu:.2f} | {rss/1024:.1f} |")
    if len(runs) > 1:
        print(f"|   (wall s of each run: {' '.join(f'{secs(r[2]):.2f}' for r in runs)}) | | | | | | | | |")
w = rate.get("wshs-sniff --json --all")
f = rate.get("libpcap read loop (floor)")
t = rate.get("tshark -Y 'http.upgrade or http.response.code'")
if w and f:
    print(f"\nwshs-sniff / libpcap floor: {w/f:.2f}x")
if w and t:
    print(f"wshs-sniff / tshark: {w/t:.0f}x")
PY
echo
echo -n "ground truth ($SIZE): "
python3 benches/check_truth.py "$WORK/busy.truth.jsonl" "$WORK/found.jsonl"
echo -n "ground truth ($TSHARK_SIZE): "
python3 benches/check_truth.py "$WORK/small.truth.jsonl" "$WORK/found-small.jsonl"
if [ -n "$BIG" ]; then
  echo -n "ground truth ($BIG): "
  python3 benches/check_truth.py "$WORK/big.truth.jsonl" "$WORK/found-big.jsonl"
fi
