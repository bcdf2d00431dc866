#!/usr/bin/env bash
# Fixtures of two capture points merged with their clocks apart, derived from
# recorded fixtures: the packets the server sent are stamped earlier by a
# fixed skew (as by a server-side tap whose clock runs behind a client-side
# one), then merged with the client's packets by timestamp, as mergecap
# does. Each answer then comes before the request it answers, and the
# ground truth is the recorded fixture's own.
#
#   scripts/record-fixtures/derive_skewed.sh
#
# Needs tcpdump, editcap and mergecap (Debian: tcpdump, wireshark-common).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in tcpdump editcap mergecap python3; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# derive SOURCE SERVER_PORT SKEW_SECONDS
derive() {
  local src="fixtures/$1.pcap" port="$2" skew="$3" out="fixtures/$1-merged-skew"
  tcpdump -r "$src" -w "$tmp/client.pcap" "tcp dst port $port" 2>/dev/null
  tcpdump -r "$src" -w "$tmp/server.pcap" "tcp src port $port" 2>/dev/null
  editcap -t "-$skew" "$tmp/server.pcap" "$tmp/server-early.pcap"
  mergecap -F pcap -w "$out.pcap" "$tmp/client.pcap" "$tmp/server-early.pcap"
  python3 - "fixtures/$1.labels.json" "$out.labels.json" "$skew" <<'PY'
import json, sys
labels = json.load(open(sys.argv[1]))
for l in labels:
    l["note"] = (l.get("note", "") + f"; derived: the server's packets stamped {sys.argv[3]} s early "
                 "and merged with the client's by timestamp (two taps, clocks apart)").lstrip("; ")
with open(sys.argv[2], "w") as f:
    json.dump(labels, f, indent=1)
    f.write("\n")
PY
  echo "wrote $out.pcap"
}

# The 403 comes 2.4 ms after the request, 5.4 ms after the SYN.
derive chromium__origin-rejected 18402 0.0025
# The 101 comes 26.4 ms after the request, 28.1 ms after the SYN.
derive chromium__ok 18402 0.027
