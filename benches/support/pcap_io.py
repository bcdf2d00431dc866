"""Reading classic pcap files, for the replay's rewriting scripts
(to_ethernet.py, to_loopback.py): standard library only, streamed."""

import struct
import sys

# Magic as read little-endian -> byte order of the file (micro- or
# nanosecond timestamps alike: records are copied with their times as is).
MAGICS = {0xA1B2C3D4: "<", 0xD4C3B2A1: ">", 0xA1B23C4D: "<", 0x4D3CB2A1: ">"}


def read_header(f, path):
    """The 24-byte file header and the file's byte order; exits with one line
    when `path` is no classic pcap."""
    head = f.read(24)
    if len(head) < 24 or struct.unpack("<I", head[:4])[0] not in MAGICS:
        sys.exit(f"{path}: not a classic pcap file (pcapng: convert with tcpdump -r IN -w OUT first)")
    return head, MAGICS[struct.unpack("<I", head[:4])[0]]


def records(f, order):
    """Each record's 16-byte header and its captured bytes, up to the end or
    a torn last record."""
    caplen_at = struct.Struct(order + "I")
    while True:
        h = f.read(16)
        if len(h) < 16:
            return
        caplen = caplen_at.unpack_from(h, 8)[0]
        frame = f.read(caplen)
        if len(frame) < caplen:
            return
        yield h, frame
