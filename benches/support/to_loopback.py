#!/usr/bin/env python3
"""Move every IPv4 address of an Ethernet capture into 127.0.0.0/8, one
loopback address per host, so the capture can go on a veth pair.

    to_loopback.py IN.pcap OUT.pcap

A single prefix rule (tcprewrite --pnat=0.0.0.0/0:127.0.0.0/8) keeps the low
24 bits of every address, so 10.0.2.14 and 192.0.2.14 both became
127.0.2.14: a client then shared its address with a TLS server, and the
analysis of the replayed packets read the pair as a proxy's two legs. Here
no two addresses become one: when the capture uses at most 256 /16 networks
each gets a 127.N.0.0/16 of its own and addresses keep their low 16 bits
(readable next to the original); otherwise hosts are numbered in order of
appearance (up to 2^24 of them). The IPv4 header checksum is recomputed;
TCP and UDP checksums are left to `tcprewrite --fixcsum`, which the caller
runs next. Reads a classic pcap of Ethernet frames with VLAN tags removed;
other frames are copied as they are. Standard library only.
"""

import struct
import sys

from pcap_io import read_header, records


def is_ipv4(frame):
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00"


def address_map(path):
    """Every IPv4 address of the capture -> its loopback address."""
    hosts = {}
    with open(path, "rb") as f:
        _, order = read_header(f, path)
        for _, frame in records(f, order):
            if is_ipv4(frame):
                for a in (frame[26:30], frame[30:34]):
                    hosts.setdefault(a, len(hosts))
    nets = sorted({a[:2] for a in hosts})
    if len(nets) <= 256:
        net_of = {n: i for i, n in enumerate(nets)}
        return {a: bytes([127, net_of[a[:2]]]) + a[2:] for a in hosts}
    if len(hosts) >= 1 << 24:
        sys.exit(f"to_loopback: {len(hosts)} hosts do not fit 127/8 apart")
    return {a: bytes([127]) + (i + 1).to_bytes(3, "big") for a, i in hosts.items()}


def ip_checksum(header):
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: to_loopback.py IN.pcap OUT.pcap")
    src, dst = sys.argv[1], sys.argv[2]
    to = address_map(src)
    with open(src, "rb") as f, open(dst, "wb") as out:
        head, order = read_header(f, src)
        out.write(head)
        for h, frame in records(f, order):
            if is_ipv4(frame):
                ihl = (frame[14] & 0x0F) * 4
                edited = bytearray(frame)
                edited[26:30] = to[frame[26:30]]
                edited[30:34] = to[frame[30:34]]
                if ihl >= 20 and len(edited) >= 14 + ihl:
                    # The checksum field counts as zero in its own sum.
                    edited[24:26] = b"\0\0"
                    edited[24:26] = struct.pack(">H", ip_checksum(bytes(edited[14:14 + ihl])))
                frame = bytes(edited)
            out.write(h)
            out.write(frame)

if __name__ == "__main__":
    main()
