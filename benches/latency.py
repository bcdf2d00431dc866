#!/usr/bin/env python3
"""How long after its response packet each attempt of a live run was reported.

usage: latency.py STAMPED.jsonl RESPONSES.txt

STAMPED.jsonl: wshs-sniff --json output, each line prefixed with the wall time
(seconds since the epoch) at which it came out of wshs-sniff and a tab.
RESPONSES.txt: `tcpdump -tt -nn -r` of a recording, made on the capturing
interface during the same run, of the packets whose TCP payload starts with
"HTTP/" (response heads), so their times are the kernel's receive times, the
same clock wshs-sniff's own timestamps come from.

For each attempt, the response is the first response-head packet from its
server to its client at or after the request's `ts`; the latency is the
output's arrival time minus that packet's time. Attempts without a response
head on the wire (no answer, TLS) are counted apart. Prints one line:
`MEDIAN P99 MAX OVER_1S MATCHED/ATTEMPTS` (seconds).
"""
import bisect
import datetime
import json
import re
import sys


def rfc3339(ts):
    """RFC 3339 UTC with 6 or 9 fractional digits, to seconds since the epoch."""
    whole, frac = ts.rstrip("Z").split(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + int(frac) / 10 ** len(frac)


LINE = re.compile(r"^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):")


def main():
    stamped, responses = sys.argv[1], sys.argv[2]
    # (server, client) -> sorted packet times
    heads = {}
    for line in open(responses):
        m = LINE.match(line)
        if m:
            key = (f"{m[2]}:{m[3]}", f"{m[4]}:{m[5]}")
            heads.setdefault(key, []).append(float(m[1]))
    for v in heads.values():
        v.sort()
    lat, attempts = [], 0
    for line in open(stamped):
        if not line.strip():
            continue
        arrived, _, rec = line.partition("\t")
        a = json.loads(rec)
        attempts += 1
        times = heads.get((a["server"], a["client"]))
        if not times:
            continue
        req = rfc3339(a["ts"])
        i = bisect.bisect_left(times, req - 1e-6)
        if i < len(times):
            lat.append(float(arrived) - times[i])
    if not lat:
        print(f"- - - - 0/{attempts}")
        return
    lat.sort()
    med = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    over = sum(1 for x in lat if x > 1.0)
    print(f"{med:.3f} {p99:.3f} {lat[-1]:.3f} {over} {len(lat)}/{attempts}")


if __name__ == "__main__":
    main()
