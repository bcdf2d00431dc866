#!/usr/bin/env python3
"""Write a capture of nothing but WebSocket handshakes: CONNECTIONS short
connections from as many client addresses, each one browser-like upgrade
request and the server's answer, rotating through an accept, a 400 with a
text, a 403 and a 426 (to a version-8 request). Measures what an attempt
costs, in time and memory, when attempts and not packets are the load: a
reconnect storm after an outage.

usage: handshake_storm.py CONNECTIONS OUT.pcap [COOKIE_BYTES] [--same-key|--no-key]

COOKIE_BYTES pads each request's Cookie (default none). --same-key sends the
RFC 6455 sample key in every request, as clients that hard-code it do.
--no-key sends no key at all, and every answer is a 400 saying so: a broken
client's reconnect storm, whose attempts can pair as proxy legs only by
address and target.
"""
import base64
import hashlib
import sys

from tcp_pcap import Writer

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SAMPLE_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def main():
    args = [a for a in sys.argv[1:] if a not in ("--same-key", "--no-key")]
    same_key = "--same-key" in sys.argv[1:]
    no_key = "--no-key" in sys.argv[1:]
    if len(args) not in (2, 3) or (same_key and no_key):
        sys.exit(__doc__.strip().split("\n\n")[1])
    conns, out = int(args[0]), args[1]
    pad = b"; pad=" + b"p" * int(args[2]) if len(args) == 3 else b""
    w = Writer(out)
    for c in range(conns):
        client, server = [10, (c >> 16) & 255, (c >> 8) & 255, c & 255], [10, 255, 0, 80]
        cport, sport = 40000 + c % 20000, 8080
        key = SAMPLE_KEY if same_key else base64.b64encode(hashlib.sha1(b"%d" % c).digest()[:16])
        version = b"8" if c % 4 == 3 else b"13"
        req = (b"GET /socket?room=%d HTTP/1.1\r\nHost: chat.example.test\r\n"
               b"Connection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
               b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
               b"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
               b"Upgrade: websocket\r\nOrigin: https://chat.example.test\r\n"
               b"Sec-WebSocket-Version: %s\r\nAccept-Encoding: gzip, deflate, br\r\n"
               b"Accept-Language: en-US,en;q=0.9\r\nCookie: session=%d; theme=dark%s\r\n"
               b"%s"
               b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
               % (c, version, c * 7919, pad,
                  b"" if no_key else b"Sec-WebSocket-Key: %s\r\n" % key))
        kind = c % 4
        if no_key:
            body = b"Missing Sec-WebSocket-Key header"
            resp = (b"HTTP/1.1 400 Bad Request\r\nServer: storm/1\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        elif kind == 0:
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept)
        elif kind == 1:
            body = b"Missing or invalid Origin header"
            resp = (b"HTTP/1.1 400 Bad Request\r\nServer: storm/1\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        elif kind == 2:
            resp = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        else:
            resp = (b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        w.exchange(client, server, cport, sport, req, resp)
    w.close()


if __name__ == "__main__":
    main()
