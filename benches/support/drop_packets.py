#!/usr/bin/env python3
"""Copy a classic pcap without a random share of its packets, as a capture
that lost them (kernel drops, a lossy tap) would be: for checking what
wshs-sniff still gets right against a generator's ground truth.

usage: drop_packets.py IN.pcap OUT.pcap SHARE [SEED]

SHARE is the fraction of packets dropped (0.01 for 1 %), SEED (default 9)
makes the choice repeatable. Standard library only, streamed.
"""

import random
import sys

from pcap_io import read_header, records


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().split("\n\n")[1])
    src, dst, share = sys.argv[1], sys.argv[2], float(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) == 5 else 9)
    kept = dropped = 0
    with open(src, "rb") as f, open(dst, "wb") as out:
        head, order = read_header(f, src)
        out.write(head)
        for h, frame in records(f, order):
            if rng.random() < share:
                dropped += 1
                continue
            out.write(h + frame)
            kept += 1
    print(f"{dst}: {kept} packets kept, {dropped} dropped", file=sys.stderr)


if __name__ == "__main__":
    main()
