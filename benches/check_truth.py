#!/usr/bin/env python3
"""Compare wshs-sniff --json --all output with a generator's ground truth.

usage: check_truth.py TRUTH.jsonl FINDINGS.jsonl

Every truth line must be found (same client, server and target) with the same
status and cause (and header, reported separately); findings without a truth
line are invented. Exit 0 when everything matches, 1 otherwise.
"""
import json
import sys
from collections import Counter, defaultdict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    truth, found = load(sys.argv[1]), load(sys.argv[2])
    seen = defaultdict(list)
    for r in found:
        seen[(r["client"], r["server"], r["target"])].append(r)
    missing, wrong, header_diff = [], Counter(), Counter()
    for t in truth:
        k = (t["client"], t["server"], t["target"])
        if not seen.get(k):
            missing.append(t)
            continue
        r = seen[k].pop(0)
        if (r["status"], r["cause"]) != (t["status"], t["cause"]):
            wrong[(t["cause"], t["status"], r["cause"], r["status"])] += 1
        elif r["header"] != t["header"]:
            header_diff[(t["cause"], t["header"], r["header"])] += 1
    invented = [r for v in seen.values() for r in v]
    ok = not missing and not wrong and not invented
    print(f"truth {len(truth)} found {len(found)} missing {len(missing)} "
          f"wrong {sum(wrong.values())} invented {len(invented)} "
          f"header-differs {sum(header_diff.values())}: {'MATCH' if ok else 'MISMATCH'}")
    for t in missing[:10]:
        print("  missing:", json.dumps(t))
    for (tc, ts, rc, rs), n in wrong.most_common(20):
        print(f"  wrong x{n}: truth {tc} {ts} -> found {rc} {rs}")
    for r in invented[:10]:
        print("  invented:", r["client"], r["server"], r["target"], r["status"], r["cause"])
    for (c, th, rh), n in header_diff.most_common(20):
        print(f"  header x{n}: {c}: truth {th} -> found {rh}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
