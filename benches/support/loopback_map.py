#!/usr/bin/env python3
"""Print the tcprewrite --pnat rules that move a capture's IPv4 addresses into
127.0.0.0/8 without making two hosts one.

    loopback_map.py ETHERNET.pcap

A single rule 0.0.0.0/0:127.0.0.0/8 keeps the low 24 bits of every address,
so 10.0.2.14 and 192.0.2.14 both became 127.0.2.14: a client then shared its
address with a TLS server, and the analysis of the replayed packets read the
pair as a proxy's two legs. Here each /16 the capture uses gets a /16 of its
own, 127.N.0.0/16, the low 16 bits kept, as long as it uses at most 256 of
them; with more, the single /8 rule is printed (and a warning), as before.
Reads a classic pcap of Ethernet frames (VLAN tags already removed);
standard library only, streamed.
"""

import struct
import sys

MAGICS = {0xA1B2C3D4: "<", 0xD4C3B2A1: ">", 0xA1B23C4D: "<", 0x4D3CB2A1: ">"}
FALLBACK = "0.0.0.0/0:127.0.0.0/8"


def prefixes(path):
    """The /16 prefixes (first two octets) of every IPv4 source and destination."""
    seen = set()
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24 or struct.unpack("<I", head[:4])[0] not in MAGICS:
            sys.exit(f"{path}: not a classic pcap file")
        rec = struct.Struct(MAGICS[struct.unpack("<I", head[:4])[0]] + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            caplen = rec.unpack(h)[2]
            frame = f.read(caplen)
            if len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue
            seen.add(frame[26:28])
            seen.add(frame[30:32])
    return sorted(seen)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: loopback_map.py ETHERNET.pcap")
    used = prefixes(sys.argv[1])
    if len(used) > 256:
        print(f"loopback_map: {len(used)} /16 networks, more than 127/8 holds apart: "
              "addresses keep their low 24 bits and may coincide", file=sys.stderr)
        print(FALLBACK)
        return
    if not used:
        print(FALLBACK)
        return
    print(",".join(f"{p[0]}.{p[1]}.0.0/16:127.{n}.0.0/16" for n, p in enumerate(used)))


if __name__ == "__main__":
    main()
