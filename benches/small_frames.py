#!/usr/bin/env python3
"""Write a capture of many small WebSocket frames: CONNECTIONS clients
upgrade to one server (every handshake accepted, browser-like), then PACKETS
data segments follow on random connections, each one frame of 20-120 bytes
(masked from the client, unmasked from the server). A chat or ticker
service at its busiest: the bytes per packet are few, so what a packet
costs, not what a byte costs, sets the speed, and most packets belong to
connections whose handshake settled long ago.

usage: small_frames.py CONNECTIONS PACKETS OUT.pcap [TRUTH.jsonl] [--seed N]

The truth file, in check_truth.py's format, has the one accepted attempt of
each connection.
"""
import base64
import hashlib
import json
import random
import sys

from tcp_pcap import Writer, take_seed

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SERVER = [10, 0, 0, 1]
PORT = 8080


def main():
    args = sys.argv[1:]
    seed = take_seed(args, 5)
    if len(args) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-4])
    conns, packets, out = int(args[0]), int(args[1]), args[2]
    if not 1 <= conns <= 60000:
        sys.exit("CONNECTIONS: 1 to 60000")
    rnd = random.Random(seed)
    w = Writer(out)
    live, truth = [], []
    for i in range(conns):
        client = [10, 1, i // 250, i % 250 + 1]
        cport = 1024 + i
        key = base64.b64encode(rnd.randbytes(16))
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        target = f"/chat/{i}"
        req = (f"GET {target} HTTP/1.1\r\nHost: chat.example\r\n"
               "User-Agent: Mozilla/5.0\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nOrigin: https://chat.example\r\n"
               "Sec-WebSocket-Version: 13\r\n").encode()
        req += b"Sec-WebSocket-Key: " + key + b"\r\n\r\n"
        resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        cs, ss = rnd.randrange(1 << 31), rnd.randrange(1 << 31)
        w.packet(client, SERVER, cport, PORT, cs, 0, 0x02, b"")
        w.packet(SERVER, client, PORT, cport, ss, cs + 1, 0x12, b"")
        cs, ss = cs + 1, ss + 1
        w.packet(client, SERVER, cport, PORT, cs, ss, 0x10, b"")
        w.packet(client, SERVER, cport, PORT, cs, ss, 0x18, req)
        cs += len(req)
        w.packet(SERVER, client, PORT, cport, ss, cs, 0x18, resp)
        ss += len(resp)
        live.append([client, cport, cs, ss])
        addr = ".".join(map(str, client))
        truth.append({"client": f"{addr}:{cport}", "server": f"10.0.0.1:{PORT}",
                      "method": "GET", "target": target, "status": 101,
                      "cause": "ok", "header": None, "leg": "direct"})
    for _ in range(packets):
        c = live[rnd.randrange(conns)]
        client, cport, cs, ss = c
        n = rnd.randrange(20, 120)
        if rnd.random() < 0.5:
            frame = bytes([0x81, 0x80 | n]) + rnd.randbytes(4) + b"m" * n
            w.packet(client, SERVER, cport, PORT, cs, ss, 0x18, frame)
            c[2] = (cs + len(frame)) & 0xFFFFFFFF
        else:
            frame = bytes([0x81, n]) + b"s" * n
            w.packet(SERVER, client, PORT, cport, ss, cs, 0x18, frame)
            c[3] = (ss + len(frame)) & 0xFFFFFFFF
    w.close()
    if len(args) == 4:
        with open(args[3], "w") as f:
            for t in truth:
                f.write(json.dumps(t) + "\n")


if __name__ == "__main__":
    main()
