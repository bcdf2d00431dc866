#!/usr/bin/env python3
"""A second, independently written traffic generator: a busy host's capture
whose mix differs from examples/gen_capture.rs, to check that the ground
truth and the speed figures hold for traffic the main generator does not
make.

usage: mixed_gen.py --size 200M --seed 3 --out FILE --truth FILE.jsonl
       [--concurrency 400]

What it writes (Ethernet, classic pcap, microseconds):
- WebSocket handshakes on 172.16.0.10:8080 (and [fd00::10]:8080 for a
  tenth): accepted ones with a correct Sec-WebSocket-Accept followed by
  masked and unmasked data frames and a close handshake; refusals the way
  common servers word them (400 with the missing header named, 426 with
  the supported version, 403 for an origin, 404, 401, 500 and 503).
- Plain HTTP/1.1 keep-alive API traffic on 172.16.0.12:80: several requests
  per connection, Content-Length and chunked responses, POST bodies.
- Bulk downloads (a few MB each) on 172.16.0.13:80.
- DNS-like UDP noise and a few ICMP echoes.
- Segments of up to 1448 bytes, requests sometimes cut in two, 2 % of data
  segments swapped with the next, 2 % sent twice, connections interleaved.

The truth file has one JSON line per upgrade attempt, in check_truth.py's
format: client, server, method, target, status, cause, header, leg.
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import random
import struct

from tcp_pcap import checksum as csum

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MSS = 1448


def size_arg(s):
    mult = {"k": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1]] if s[-1] in mult else int(s)


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t = 1_700_000_000 * 1_000_000
        self.bytes = 24
        self.packets = 0
        # Payload bytes the open connections have yet to send: no new
        # connection starts once the file would reach its size with them.
        self.pending = 0

    def frame(self, ethertype, l3):
        frame = b"\x52\x54\x00\x12\x34\x56" + b"\x52\x54\x00\xab\xcd\xef" + \
            struct.pack("!H", ethertype) + l3
        self.t += random.choice((3, 7, 12, 25, 60))
        rec = struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000,
                          len(frame), len(frame)) + frame
        self.f.write(rec)
        self.bytes += len(rec)
        self.packets += 1

    def tcp(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 64240, 0, 0)
        seg = hdr + payload
        if len(src) == 4:
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg),
                             random.getrandbits(16), 0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            self.frame(0x0800, ip + seg)
        else:
            ip = struct.pack("!IHBB16s16s", 0x60000000, len(seg), 6, 64, src, dst)
            self.frame(0x86DD, ip + seg)

    def udp(self, src, dst, sport, dport, payload):
        u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 0, 0, 64, 17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        self.frame(0x0800, ip + u)

    def icmp(self, src, dst):
        body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"x" * 56
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0, src, dst)
        self.frame(0x0800, ip + body)


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    return ipaddress.IPv6Address(s).packed


def ep(addr, port):
    if len(addr) == 4:
        return "%s:%d" % (".".join(str(b) for b in addr), port)
    return "[%s]:%d" % (ipaddress.IPv6Address(addr), port)


def ws_frame(payload, masked, opcode=1):
    n = len(payload)
    b0 = 0x80 | opcode
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if masked else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if masked else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if masked else 0) | 127, n)
    if not masked:
        return head + payload
    key = random.randbytes(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def response(status, reason, headers, body=b""):
    lines = ["HTTP/1.1 %d %s" % (status, reason)] + ["%s: %s" % h for h in headers]
    if status != 101:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# Refusals: (weight, name, request edit, status, reason, extra headers, body,
# cause, header). The request edit takes and returns the header list.
def drop(name):
    return lambda hs: [h for h in hs if h[0].lower() != name.lower()]


def replace(name, value):
    return lambda hs: [(k, value) if k.lower() == name.lower() else (k, v) for k, v in hs]


REFUSALS = [
    (6, drop("Sec-WebSocket-Key"), 400, "Bad Request", [("Content-Type", "text/plain")],
     b"Missing Sec-WebSocket-Key header", "missing-sec-websocket-key", "Sec-WebSocket-Key"),
    (4, replace("Sec-WebSocket-Version", "8"), 426, "Upgrade Required",
     [("Sec-WebSocket-Version", "13")], b"Unsupported WebSocket version",
     "unsupported-sec-websocket-version", "Sec-WebSocket-Version"),
    (4, replace("Origin", "https://evil.example"), 403, "Forbidden", [],
     b"Origin not allowed", "origin-rejected", "Origin"),
    (3, None, 404, "Not Found", [("Content-Type", "text/html")],
     b"<html><body>Not Found</body></html>", "path-not-found", None),
    (3, None, 401, "Unauthorized", [("WWW-Authenticate", 'Bearer realm="ws"')],
     b"", "unauthorized", "Authorization"),
    (2, None, 500, "Internal Server Error", [], b"internal error", "server-error", None),
    (2, None, 503, "Service Unavailable", [("Retry-After", "5")], b"overloaded",
     "server-error", None),
    (3, drop("Upgrade"), 400, "Bad Request", [("Content-Type", "text/plain")],
     b"Can \"Upgrade\" only to \"WebSocket\".", "missing-upgrade", "Upgrade"),
]


class Conn:
    """One TCP connection as a generator of packets; sends on `pcap`."""

    def __init__(self, pcap, client, server, cport, sport):
        self.p, self.c, self.s, self.cp, self.sp = pcap, client, server, cport, sport
        self.cs = random.getrandbits(32)
        self.ss = random.getrandbits(32)
        self.left = 0

    def plan(self, n):
        """Expect to send about `n` more payload bytes (see Pcap.pending)."""
        self.left += n
        self.p.pending += n

    def open(self):
        p = self.p
        p.tcp(self.c, self.s, self.cp, self.sp, self.cs, 0, 0x02)
        yield
        p.tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs + 1, 0x12)
        yield
        self.cs += 1
        self.ss += 1
        p.tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x10)
        yield

    def send(self, from_client, data, split=False):
        """Data in segments of up to MSS; a request sometimes cut in two; 2 %
        of segments swapped with the next, 2 % sent twice; an ACK back every
        other segment."""
        if from_client:
            a, b, ap, bp, seq, ack = self.c, self.s, self.cp, self.sp, self.cs, self.ss
        else:
            a, b, ap, bp, seq, ack = self.s, self.c, self.sp, self.cp, self.ss, self.cs
        if split and len(data) > 8:
            cut = random.randrange(1, len(data) - 1)
            pieces = [(0, data[:cut]), (cut, data[cut:])]
        else:
            pieces = [(i, data[i:i + MSS]) for i in range(0, len(data), MSS)]
        i = 0
        n = 0
        while i < len(pieces):
            if i + 1 < len(pieces) and random.random() < 0.02:
                order = [pieces[i + 1], pieces[i]]
                i += 2
            else:
                order = [pieces[i]]
                i += 1
            for off, chunk in order:
                self.p.tcp(a, b, ap, bp, seq + off, ack, 0x18, chunk)
                if random.random() < 0.02:
                    self.p.tcp(a, b, ap, bp, seq + off, ack, 0x18, chunk)
                n += 1
                if n % 2 == 0:
                    self.p.tcp(b, a, bp, ap, ack, seq + off + len(chunk), 0x10)
                yield
        self.left -= len(data)
        self.p.pending -= len(data)
        if from_client:
            self.cs += len(data)
        else:
            self.ss += len(data)
        self.p.tcp(b, a, bp, ap, ack, seq + len(data), 0x10)
        yield

    def close(self):
        p = self.p
        p.pending -= self.left
        self.left = 0
        p.tcp(self.c, self.s, self.cp, self.sp, self.cs, self.ss, 0x11)
        yield
        p.tcp(self.s, self.c, self.sp, self.cp, self.ss, self.cs + 1, 0x11)
        yield
        p.tcp(self.c, self.s, self.cp, self.sp, self.cs + 1, self.ss + 1, 0x10)
        yield


def ws_conn(p, truth, client, server, cport, sport):
    c = Conn(p, client, server, cport, sport)
    frames = [random.choice((20, 300, 3000, 70000)) if random.random() >= 0.5 else None
              for _ in range(random.randrange(2, 30))]
    c.plan(600 + sum(n or 40 for n in frames))
    yield from c.open()
    host = ep(server, sport)
    room = random.randrange(10**6)
    target = "/live/%d?token=%s" % (room, random.randbytes(6).hex())
    # wshs-sniff redacts credentials in targets (DESIGN.md, section 4).
    shown = "/live/%d?token=[redacted]" % room
    key = base64.b64encode(random.randbytes(16)).decode()
    headers = [("Host", host), ("User-Agent", random.choice(UAS)),
               ("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
               ("Origin", "https://app.example.com")]
    if random.random() < 0.3:
        headers.append(("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"))
    if random.random() < 0.7:
        refusal = None
    else:
        total = sum(r[0] for r in REFUSALS)
        x = random.uniform(0, total)
        for r in REFUSALS:
            x -= r[0]
            if x <= 0:
                refusal = r
                break
        else:
            refusal = REFUSALS[-1]
    if refusal and refusal[1]:
        headers = refusal[1](headers)
    req = ("GET %s HTTP/1.1\r\n" % target + "".join("%s: %s\r\n" % h for h in headers)
           + "\r\n").encode()
    yield from c.send(True, req, split=random.random() < 0.1)
    if refusal is None:
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        resp = response(101, "Switching Protocols",
                        [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                         ("Sec-WebSocket-Accept", accept)])
        truth.append(dict(client=ep(client, cport), server=host, method="GET",
                          target=shown, status=101, cause="ok", header=None, leg="direct"))
        yield from c.send(False, resp)
        for n in frames:
            if n is None:
                msg = json.dumps({"op": "tick", "v": random.random()}).encode()
                yield from c.send(True, ws_frame(msg, True))
            else:
                yield from c.send(False, ws_frame(random.randbytes(n), False, opcode=2))
        yield from c.send(True, ws_frame(struct.pack("!H", 1000), True, opcode=8))
        yield from c.send(False, ws_frame(struct.pack("!H", 1000), False, opcode=8))
    else:
        _, _, status, reason, extra, body, cause, header = refusal
        resp = response(status, reason, [("Server", "edge/2.1"), ("Connection", "close")]
                        + extra, body)
        truth.append(dict(client=ep(client, cport), server=host, method="GET",
                          target=shown, status=status, cause=cause, header=header,
                          leg="direct"))
        yield from c.send(False, resp)
    yield from c.close()


UAS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Gecko/20100101 Firefox/121.0",
       "okhttp/4.12.0", "Go-http-client/1.1"]


def api_conn(p, client, server, cport, sport):
    c = Conn(p, client, server, cport, sport)
    yield from c.open()
    host = ep(server, sport)
    for _ in range(random.randrange(1, 8)):
        if random.random() < 0.25:
            body = json.dumps({"id": random.randrange(10**9), "items": list(range(
                random.randrange(1, 200)))}).encode()
            req = ("POST /api/v2/orders HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json"
                   "\r\nContent-Length: %d\r\n\r\n" % (host, len(body))).encode() + body
        else:
            req = ("GET /api/v2/items/%d?fields=all HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n"
                   "User-Agent: %s\r\n\r\n" % (random.randrange(10**6), host,
                                               random.choice(UAS))).encode()
        yield from c.send(True, req)
        payload = random.randbytes(random.choice((100, 900, 4000, 20000)))
        if random.random() < 0.3:
            chunks = b""
            for i in range(0, len(payload), 1000):
                part = payload[i:i + 1000]
                chunks += b"%x\r\n" % len(part) + part + b"\r\n"
            resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        else:
            resp = response(200, "OK", [("Content-Type", "application/json")], payload)
        yield from c.send(False, resp)
    yield from c.close()


def bulk_conn(p, client, server, cport, sport):
    c = Conn(p, client, server, cport, sport)
    blocks = random.randrange(8, 48)
    c.plan(blocks * 65536)
    yield from c.open()
    req = ("GET /files/image-%d.iso HTTP/1.1\r\nHost: %s\r\n\r\n" % (
        random.randrange(1000), ep(server, sport))).encode()
    yield from c.send(True, req)
    body = random.randbytes(65536) * blocks
    yield from c.send(False, response(200, "OK", [("Content-Type", "application/x-iso9660-image")],
                                      body))
    yield from c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=size_arg, default=64 << 20)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=400)
    ap.add_argument("--out", required=True)
    ap.add_argument("--truth", required=True)
    a = ap.parse_args()
    random.seed(a.seed)
    p = Pcap(a.out)
    truth = []
    ws4, ws6 = ip4("172.16.0.10"), ip6("fd00::10")
    api, bulk = ip4("172.16.0.12"), ip4("172.16.0.13")
    dns = ip4("172.16.0.53")
    active = []
    nextport = {}

    def port_for(client):
        port = nextport.get(client, 30000 + random.randrange(2000))
        nextport[client] = port + 1 if port < 60999 else 30000
        return port

    def start():
        x = random.random()
        if x < 0.45:
            if random.random() < 0.1:
                client = ip6("fd00:1::%x" % random.randrange(1, 4000))
                server = ws6
            else:
                client = bytes([10, 1, random.randrange(256), random.randrange(1, 255)])
                server = ws4
            return ws_conn(p, truth, client, server, port_for(client), 8080)
        client = bytes([10, 2, random.randrange(256), random.randrange(1, 255)])
        if x < 0.97:
            return api_conn(p, client, api, port_for(client), 80)
        return bulk_conn(p, client, bulk, port_for(client), 80)

    while active or p.bytes < a.size:
        while p.bytes + p.pending < a.size and len(active) < a.concurrency:
            conn = start()
            next(conn)
            active.append(conn)
        i = random.randrange(len(active))
        try:
            next(active[i])
        except StopIteration:
            active[i] = active[-1]
            active.pop()
        if random.random() < 0.05:
            client = bytes([10, 3, random.randrange(256), random.randrange(1, 255)])
            p.udp(client, dns, 40000 + random.randrange(20000), 53,
                  random.randbytes(12) + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01")
        if random.random() < 0.001:
            p.icmp(bytes([10, 4, 0, 1]), ws4)
    p.f.close()
    with open(a.truth, "w") as f:
        for t in truth:
            f.write(json.dumps(t) + "\n")
    print("wrote %d packets, %d bytes, %d attempts" % (p.packets, p.bytes, len(truth)))


if __name__ == "__main__":
    main()
