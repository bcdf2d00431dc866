"""Seed corpora for the fuzz targets, from capture files.

Usage (from the repository root):
    python3 fuzz/make_seeds.py fixtures fuzz/corpus

Writes corpus/capture_file (the captures themselves), corpus/decode_packet
(link type + packet), corpus/stream_http (HTTP heads as stream_http records)
and corpus/header_grammars (request heads and header values).
"""
import struct, os, glob, sys
fixtures = os.path.abspath(sys.argv[1])
os.makedirs(sys.argv[2], exist_ok=True)
os.chdir(sys.argv[2])
os.makedirs("capture_file", exist_ok=True)
os.makedirs("decode_packet", exist_ok=True)
os.makedirs("stream_http", exist_ok=True)
os.makedirs("header_grammars", exist_ok=True)
n = 0
for path in sorted(glob.glob(fixtures + "/*.pcap")):
    b = open(path, "rb").read()
    name = os.path.basename(path)
    open("capture_file/" + name, "wb").write(b)
    magic = b[:4]
    if magic == b"\xd4\xc3\xb2\xa1" or magic == b"\x4d\x3c\xb2\xa1": e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4" or magic == b"\xa1\xb2\x3c\x4d": e = ">"
    else: continue
    lt = struct.unpack(e + "I", b[20:24])[0] & 0xffff
    off = 24; i = 0
    stream = bytearray(b"\x00\x00\x00\x00")
    while off + 16 <= len(b):
        ts, tu, cap, orig = struct.unpack(e + "IIII", b[off:off+16])
        pkt = b[off+16:off+16+cap]; off += 16 + cap
        if i < 12:
            open("decode_packet/%s.%d" % (name, i), "wb").write(struct.pack(">H", lt) + pkt)
        i += 1
        # payload heuristics for HTTP heads
        k = pkt.find(b"HTTP/1.1")
        j = pkt.find(b"GET ")
        for start in (j,):
            if start >= 0:
                head = pkt[start:]
                open("header_grammars/%s.%d" % (name, i), "wb").write(head[:4096])
        for start in (j, pkt.find(b"HTTP/1.1 ")):
            if start >= 0 and (start == j or pkt[start:start+9] == b"HTTP/1.1 "):
                p = pkt[start:][:255]
                d = 0 if start == j else 1
                stream += bytes([0x18, d, 0, 0, len(p)]) + p
    if len(stream) > 4:
        open("stream_http/" + name, "wb").write(bytes(stream))
for v in [b"websocket", b"Upgrade, keep-alive", b"dGhlIHNhbXBsZSBub25jZQ==", b"13, 8", b'permessage-deflate; client_max_window_bits="15", x', b"h2c, HTTP/2.0"]:
    n += 1
    open("header_grammars/v%d" % n, "wb").write(v)
