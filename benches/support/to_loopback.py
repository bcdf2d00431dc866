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

MAGICS = {0xA1B2C3D4: "<", 0xD4C3B2A1: ">", 0xA1B23C4D: "<", 0x4D3CB2A1: ">"}


def records(path):
    """The file header, then (record header bytes, frame bytes) pairs."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24 or struct.unpack("<I", head[:4])[0] not in MAGICS:
            sys.exit(f"{path}: not a classic pcap file")
        rec = struct.Struct(MAGICS[struct.unpack("<I", head[:4])[0]] + "IIII")
        yield head
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            frame = f.read(rec.unpack(h)[2])
            yield h, frame


def is_ipv4(frame):
    return len(frame) >= 34 and frame[12:14] == b"\x08\x00"


def address_map(path):
    """Every IPv4 address of the capture -> its loopback address."""
    hosts = {}
    for item in records(path):
        if isinstance(item, bytes):
            continue
        frame = item[1]
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
    with open(dst, "wb") as out:
        for item in records(src):
            if isinstance(item, bytes):
                out.write(item)
                continue
            h, frame = item
            if is_ipv4(frame):
                ihl = (frame[14] & 0x0F) * 4
                f = bytearray(frame)
                f[26:30] = to[frame[26:30]]
                f[30:34] = to[frame[30:34]]
                if ihl >= 20 and len(f) >= 14 + ihl and ihl % 2 == 0:
                    f[24:26] = b"\0\0"
                    f[24:26] = struct.pack(">H", ip_checksum(bytes(f[14:14 + ihl])))
                frame = bytes(f)
            out.write(h)
            out.write(frame)


if __name__ == "__main__":
    main()
