#!/usr/bin/env python3
"""Rewrite a classic pcap file of any link type wshs-sniff reads into Ethernet.

    to_ethernet.py IN.pcap OUT.pcap

tcpreplay puts frames on a veth pair as they are: a capture taken on a Linux
"any" device (SLL, SLL2), a raw-IP capture (what many generators write) or a
BSD loopback capture would go out as garbage. Each packet keeps its network
layer and gets an Ethernet header with locally administered addresses and the
EtherType of what it carries; packets of another kind (ARP over SLL and the
like) keep their EtherType too. An Ethernet capture is copied as it is.
Standard library only, streamed, so it runs on a capture of any size.
"""

import struct
import sys

from pcap_io import read_header, records

ETHERNET = 1
NULL = 0  # BSD loopback, host byte order family
LOOP = 108  # OpenBSD loopback, network byte order family
RAW = 101
IPV4 = 228
IPV6 = 229
SLL = 113
SLL2 = 276
RAW_ALIASES = (12, 14)  # DLT_RAW on some BSDs

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")



def ethertype_of_ip(data):
    """EtherType of an IP packet by its version nibble (None: not IP)."""
    if not data:
        return None
    v = data[0] >> 4
    return 0x0800 if v == 4 else 0x86DD if v == 6 else None


def payload_and_type(linktype, data):
    """The network-layer bytes of one frame and their EtherType, or None."""
    if linktype in (RAW, IPV4, IPV6) + RAW_ALIASES:
        t = ethertype_of_ip(data)
        return (data, t) if t else None
    if linktype == SLL:
        if len(data) < 16:
            return None
        return data[16:], struct.unpack(">H", data[14:16])[0]
    if linktype == SLL2:
        if len(data) < 20:
            return None
        return data[20:], struct.unpack(">H", data[0:2])[0]
    if linktype in (NULL, LOOP):
        if len(data) < 4:
            return None
        t = ethertype_of_ip(data[4:])
        return (data[4:], t) if t else None
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: to_ethernet.py IN.pcap OUT.pcap")
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f, open(dst, "wb") as out:
        head, order = read_header(f, src)
        vmaj, vmin, zone, sigfigs, snaplen, linktype = struct.unpack(order + "HHiIII", head[4:])
        linktype &= 0x0FFFFFFF
        if linktype == ETHERNET:
            out.write(head)
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    return
                out.write(chunk)
        out.write(head[:4] + struct.pack(order + "HHiIII", vmaj, vmin, zone, sigfigs,
                                         max(snaplen, 65535) + 14, ETHERNET))
        rec = struct.Struct(order + "IIII")
        kept = skipped = 0
        for h, data in records(f, order):
            secs, frac, caplen, origlen = rec.unpack(h)
            got = payload_and_type(linktype, data)
            if got is None:
                skipped += 1
                continue
            body, etype = got
            cut = origlen - caplen if origlen > caplen else 0
            frame = DST_MAC + SRC_MAC + struct.pack(">H", etype) + body
            out.write(rec.pack(secs, frac, len(frame), len(frame) + cut))
            out.write(frame)
            kept += 1
        if skipped:
            print(f"to_ethernet: {kept} packets rewritten, {skipped} of link type "
                  f"{linktype} without a network layer left out", file=sys.stderr)

if __name__ == "__main__":
    main()
