#!/usr/bin/env python3
"""Write a capture of WebSocket upgrade requests whose heads arrive in tiny
segments, as a slow client (or a slowloris) sends them, each refused with a
400. Measures what a head costs when it comes a byte at a time.

usage: slow_heads.py SEGMENT_BYTES PAD_BYTES OUT.pcap [CONNECTIONS]

Each of CONNECTIONS connections (default 1, one after another) sends a
request with an `X-Pad` header of PAD_BYTES, SEGMENT_BYTES per segment.
"""
import sys

from tcp_pcap import Writer


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[-4])
    seg, pad, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    conns = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    w = Writer(out)
    for c in range(conns):
        client, server = [10, 0, (c >> 8) & 255, c & 255], [10, 0, 0, 80]
        cport, sport = 40000 + c % 20000, 8080
        req = (b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               b"X-Pad: " + b"a" * pad + b"\r\n\r\n")
        resp = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        w.exchange(client, server, cport, sport, req, resp, seg)
    w.close()


if __name__ == "__main__":
    main()
