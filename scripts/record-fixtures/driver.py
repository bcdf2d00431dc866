#!/usr/bin/env python3
"""Client driver for the fixture recorder: raw-socket WebSocket handshakes.

Subcommands:
  list                      one line per fixture: NAME <tab> tcpdump filter
  wait HOST PORT            wait (bounded) until a TCP port accepts connections
  run NAME OBS.json         play the scenario, write what was sent and received
  label NAME OBS.json PCAP  print the ground-truth labels (JSON) for the capture
  summary NAME PCAP LABELS  one line: size, status and cause per attempt
  versions                  software versions used (JSON)

Requests are written byte for byte, so broken handshakes go on the wire exactly
as intended. Every read has a deadline of at most 2 s.
"""
import base64
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time

import clients
import subcommands

HERE = os.path.dirname(os.path.abspath(__file__))
READ_TIMEOUT = 2.0
ORIGIN_OK = "http://app.test"
ORIGIN_BAD = "http://evil.test"

# name -> (ip, port, family, implementation key); backend given for proxies
TARGETS = {
    "python-websockets": {"ip": "127.0.0.1", "port": 18401, "impl": "python-websockets"},
    "node-ws": {"ip": "127.0.0.1", "port": 18402, "impl": "node-ws"},
    "nginx-stripped": {"ip": "127.0.0.1", "port": 18410, "impl": "nginx",
                       "backend": "python-websockets",
                       "variant": "bare proxy_pass: HTTP/1.0 to the backend, Upgrade dropped, Connection: close"},
    "nginx-good": {"ip": "127.0.0.1", "port": 18411, "impl": "nginx",
                   "backend": "python-websockets",
                   "variant": "proxy_http_version 1.1 + Upgrade $http_upgrade + Connection \"upgrade\""},
    "nginx-no-connection-line": {"ip": "127.0.0.1", "port": 18412, "impl": "nginx",
                                 "backend": "python-websockets",
                                 "variant": "proxy_http_version 1.1 + Upgrade forwarded, no Connection line (nginx sends Connection: close)"},
    "raw-python-testserver": {"ip": "127.0.0.1", "port": 18403, "impl": "raw-python-testserver"},
    "nginx-tls-stripped": {"ip": "127.0.0.1", "port": 18413, "impl": "nginx", "tls": True,
                           "backend": "python-websockets",
                           "variant": "TLS termination + bare proxy_pass: HTTP/1.0 to the backend, Upgrade dropped, Connection: close"},
    "nginx-tls-good": {"ip": "127.0.0.1", "port": 18414, "impl": "nginx", "tls": True,
                       "backend": "python-websockets",
                       "variant": "TLS termination + proxy_http_version 1.1 + Upgrade $http_upgrade + Connection \"upgrade\""},
    "nginx-good-ipv6": {"ip": "::1", "port": 18415, "impl": "nginx",
                        "backend": "python-websockets",
                        "variant": "listens on [::1], proxy_http_version 1.1 + Upgrade $http_upgrade + Connection \"upgrade\", backend on IPv4"},
}
TARGETS.update(clients.TARGETS)

# defect -> (cause, header) when the server refuses
DEFECTS = {
    "ok": ("ok", None),
    "missing-sec-websocket-key": ("missing-sec-websocket-key", "Sec-WebSocket-Key"),
    "invalid-sec-websocket-key": ("invalid-sec-websocket-key", "Sec-WebSocket-Key"),
    "missing-sec-websocket-version": ("missing-sec-websocket-version", "Sec-WebSocket-Version"),
    "unsupported-sec-websocket-version": ("unsupported-sec-websocket-version", "Sec-WebSocket-Version"),
    "missing-upgrade": ("missing-upgrade", "Upgrade"),
    "invalid-upgrade": ("invalid-upgrade", "Upgrade"),
    "connection-missing-upgrade": ("connection-missing-upgrade", "Connection"),
    "origin-rejected": ("origin-rejected", "Origin"),
    "method-not-get": ("method-not-get", None),
    "http-version-too-old": ("http-version-too-old", None),
    "missing-host": ("missing-host", "Host"),
    "header-too-large": ("header-too-large", "Cookie"),
    "path-not-found": ("path-not-found", None),
    "subprotocol-rejected": ("subprotocol-rejected", "Sec-WebSocket-Protocol"),
}

# kind -> (defect, changes to the base upgrade request)
KINDS = {
    "ok": ("ok", {}),
    "missing-key": ("missing-sec-websocket-key", {"drop": ["Sec-WebSocket-Key"]}),
    "invalid-key": ("invalid-sec-websocket-key", {"set": {"Sec-WebSocket-Key": "abc"}}),
    "invalid-key-10bytes": ("invalid-sec-websocket-key",
                            {"set": {"Sec-WebSocket-Key": base64.b64encode(bytes(range(10))).decode()}}),
    "missing-version": ("missing-sec-websocket-version", {"drop": ["Sec-WebSocket-Version"]}),
    "version-8": ("unsupported-sec-websocket-version", {"set": {"Sec-WebSocket-Version": "8"}}),
    "missing-upgrade": ("missing-upgrade", {"drop": ["Upgrade"]}),
    "upgrade-h2c": ("invalid-upgrade", {"set": {"Upgrade": "h2c"}}),
    "connection-keep-alive": ("connection-missing-upgrade", {"set": {"Connection": "keep-alive"}}),
    "origin-rejected": ("origin-rejected", {"set": {"Origin": ORIGIN_BAD}}),
    "method-post": ("method-not-get", {"method": "POST", "add": [("Content-Length", "0")]}),
    "http-1.0": ("http-version-too-old", {"version": "HTTP/1.0"}),
    "missing-host": ("missing-host", {"drop": ["Host"]}),
    "header-too-large": ("header-too-large", {"add": [("Cookie", "session=" + "a" * 20000)]}),
    "not-found-path": ("path-not-found", {"path": "/nope"}),
    "subprotocol-missing": ("subprotocol-rejected", {"path": "/chat"}),
    "subprotocol-ok": ("ok", {"path": "/chat", "add": [("Sec-WebSocket-Protocol", "chat.v1")]}),
}

DIRECT_KINDS = list(KINDS) + ["pipelined", "keepalive-sequence", "split-head", "ipv6-ok"]

# Kinds added for the diagnosis beyond one message (proxy legs over TLS, comparison
# with accepted attempts, refusals after a 101, client-side checks of a 101).
# They are recorded only for the fixtures listed in fixtures() below.
FAKE_COOKIE = "session=FAKE-session-cookie-not-a-secret"
FAKE_BEARER = "Bearer FAKE-bearer-token-not-a-secret"
FAKE_QUERY_TOKEN = "FAKE-query-token-not-a-secret"
EXTRA_KINDS = {
    "no-origin": ("ok", {"drop": ["Origin"]}),
    "policy": ("ok", {"path": "/policy"}),
    "reset-after-upgrade": ("ok", {"path": "/reset"}),
    "bad-accept": ("ok", {"path": "/bad-accept"}),
    "subprotocol-mismatch": ("ok", {"path": "/subprotocol-mismatch",
                                    "add": [("Sec-WebSocket-Protocol", "chat.v1")]}),
    "extension-unoffered": ("ok", {"path": "/extension-unoffered"}),
    "upgrade-h2c-101": ("ok", {"path": "/upgrade-h2c"}),
    "credentials": ("origin-rejected", {"path": f"/ws?token={FAKE_QUERY_TOKEN}&room=1",
                                        "set": {"Origin": ORIGIN_BAD},
                                        "add": [("Cookie", FAKE_COOKIE),
                                                ("Authorization", FAKE_BEARER)]}),
}

# A 101 that is nevertheless a refusal: kind -> (cause, header). The client-side
# checks apply as soon as the 101 is seen; the close-after-upgrade ones only when
# the server did close (close frame or reset) right after it.
REFUSED_101 = {
    "bad-accept": ("invalid-sec-websocket-accept", "Sec-WebSocket-Accept"),
    "subprotocol-mismatch": ("subprotocol-rejected", "Sec-WebSocket-Protocol"),
    "extension-unoffered": ("extension-rejected", "Sec-WebSocket-Extensions"),
    "upgrade-h2c-101": ("invalid-upgrade", "Upgrade"),
}
CLOSED_101 = {"policy", "reset-after-upgrade"}


def fixtures():
    """Ordered list of (name, target, kind)."""
    out = []
    for target in ("python-websockets", "node-ws"):
        for kind in DIRECT_KINDS:
            out.append((f"{target}__{kind}", target, kind))
    out.append(("nginx-good__python-websockets", "nginx-good", "ok"))
    out.append(("nginx-good-client-missing-key__python-websockets", "nginx-good", "missing-key"))
    out.append(("nginx-stripped__python-websockets", "nginx-stripped", "ok"))
    out.append(("nginx-no-connection-line__python-websockets", "nginx-no-connection-line", "ok"))
    out.append(("nginx-tls-stripped__python-websockets", "nginx-tls-stripped", "ok"))
    out.append(("nginx-tls-good__python-websockets", "nginx-tls-good", "ok"))
    out.append(("nginx-good-ipv6__python-websockets", "nginx-good-ipv6", "ok"))
    # The same TLS proxies with the client's key log kept as NAME.keylog.
    out.append(("nginx-tls-keylog-stripped__python-websockets", "nginx-tls-stripped", "ok"))
    out.append(("nginx-tls-keylog-good__python-websockets", "nginx-tls-good", "ok"))
    for target in ("python-websockets", "node-ws"):
        out.append((f"{target}__origin-compare", target, "origin-compare"))
        out.append((f"{target}__policy-close", target, "policy"))
    out.append(("node-ws__reset-after-upgrade", "node-ws", "reset-after-upgrade"))
    out.append(("python-websockets__credentials", "python-websockets", "credentials"))
    for kind in ("bad-accept", "subprotocol-mismatch", "extension-unoffered", "upgrade-h2c-101"):
        out.append((f"raw-python-testserver__{kind}", "raw-python-testserver", kind))
    out += clients.standard_fixtures(list(KINDS) + ["pipelined", "keepalive-sequence"])
    out += [(name, None, None) for name in clients.SCENARIOS]
    return out


def fixture(name):
    for f in fixtures():
        if f[0] == name:
            return f
    sys.exit(f"unknown fixture {name}")


def ports_of(target):
    t = TARGETS[target]
    ports = [t["port"]]
    if "backend" in t:
        ports.append(TARGETS[t["backend"]]["port"])
    return ports


# ---------------------------------------------------------------- requests

def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def build_request(host_ip, port, kind, path="/ws"):
    defect, ch = KINDS[kind] if kind in KINDS else EXTRA_KINDS[kind]
    host = f"[{host_ip}]:{port}" if ":" in host_ip else f"{host_ip}:{port}"
    headers = [
        ("Host", host),
        ("User-Agent", "wshs-sniff-fixture-driver"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", new_key()),
        ("Sec-WebSocket-Version", "13"),
        ("Origin", ORIGIN_OK),
    ]
    headers = [(k, v) for k, v in headers if k not in ch.get("drop", [])]
    headers = [(k, ch.get("set", {}).get(k, v)) for k, v in headers]
    headers += ch.get("add", [])
    method = ch.get("method", "GET")
    path = ch.get("path", path)
    version = ch.get("version", "HTTP/1.1")
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return {"bytes": head.encode(), "method": method, "path": path, "version": version,
            "headers": headers, "defect": defect, "kind": kind}


def plain_get(host_ip, port, path="/hello"):
    host = f"[{host_ip}]:{port}" if ":" in host_ip else f"{host_ip}:{port}"
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: wshs-sniff-fixture-driver\r\n\r\n"
    return {"bytes": head.encode(), "method": "GET", "path": path, "version": "HTTP/1.1",
            "headers": [("Host", host)], "defect": None, "kind": "plain"}


def is_upgrade_attempt(req):
    for k, v in req["headers"]:
        if k.lower() == "upgrade" and "websocket" in v.lower():
            return True
        if k.lower().startswith("sec-websocket-"):
            return True
    return False


def header_value(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


# ---------------------------------------------------------------- responses

class Conn:
    def __init__(self, ip, port, nodelay=False, tls=False):
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(READ_TIMEOUT)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.connect((ip, port))
        self.local = self.sock.getsockname()[:2]
        if tls:  # the recorder's self-signed certificate: no verification
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            # The recorder asks for the session secrets of its keyed fixtures.
            if os.environ.get("WSHS_KEYLOG"):
                ctx.keylog_filename = os.environ["WSHS_KEYLOG"]
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.closed = False
        self.reset = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def _fill(self, deadline):
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.closed = self.reset = True
            return False
        except OSError:
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def read_response(self, head_request=False):
        """One HTTP response (head + body) or None, within READ_TIMEOUT."""
        deadline = time.monotonic() + READ_TIMEOUT
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                if not self.buf:
                    return None
                raw, self.buf = self.buf, b""
                return {"status": None, "status_line": None, "headers": [], "body": raw,
                        "incomplete": True}
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0]
        m = re.match(r"HTTP/\d\.\d (\d{3})", status_line)
        status = int(m.group(1)) if m else None
        headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers.append((k.strip(), v.strip()))
        body = b""
        if status == 101 or status in (204, 304) or (status and status < 200):
            pass
        elif header_value(headers, "Content-Length") is not None:
            n = int(header_value(headers, "Content-Length"))
            while len(self.buf) < n and self._fill(deadline):
                pass
            body, self.buf = self.buf[:n], self.buf[n:]
        elif "chunked" in (header_value(headers, "Transfer-Encoding") or "").lower():
            while True:
                while b"\r\n" not in self.buf and self._fill(deadline):
                    pass
                if b"\r\n" not in self.buf:
                    break
                size_line, rest = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0] or b"0", 16)
                while len(rest) < size + 2 and self._fill(deadline):
                    rest = self.buf.split(b"\r\n", 1)[1]
                self.buf = rest[size + 2:]
                if size == 0:
                    break
                body += rest[:size]
        else:  # delimited by close
            while self._fill(deadline):
                pass
            body, self.buf = self.buf, b""
        return {"status": status, "status_line": status_line, "headers": headers,
                "body": body, "incomplete": False}

    def read_frame(self):
        deadline = time.monotonic() + READ_TIMEOUT
        while len(self.buf) < 2 and self._fill(deadline):
            pass
        if len(self.buf) < 2:
            return None
        n = self.buf[1] & 0x7F
        hl = 2 + (2 if n == 126 else 8 if n == 127 else 0)
        while len(self.buf) < hl and self._fill(deadline):
            pass
        if n == 126:
            n = struct.unpack("!H", self.buf[2:4])[0]
        elif n == 127:
            n = struct.unpack("!Q", self.buf[2:10])[0]
        while len(self.buf) < hl + n and self._fill(deadline):
            pass
        if len(self.buf) < hl + n:
            return None
        op = self.buf[0] & 0x0F
        payload, self.buf = self.buf[hl:hl + n], self.buf[hl + n:]
        return op, payload

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def masked_frame(opcode, payload):
    mask = os.urandom(4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + data


def websocket_exchange(conn):
    """After a 101: one echo round trip, then a clean close. Returns frames received."""
    replies = 0
    if conn.send(masked_frame(0x1, b"hello fixture")) and conn.read_frame():
        replies += 1
    if conn.send(masked_frame(0x8, struct.pack("!H", 1000))) and conn.read_frame():
        replies += 1
    return replies


def server_first_exchange(conn):
    """After a 101 from a server expected to end the connection at once: read
    what it sends first, answer a close frame with a close frame.
    Returns (frames received, {"code", "reason"} or None, reset seen)."""
    replies, close = 0, None
    frame = conn.read_frame()
    if frame:
        replies += 1
        op, payload = frame
        if op == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            close = {"code": code, "reason": payload[2:].decode("utf-8", "replace")}
            conn.send(masked_frame(0x8, payload[:2]))
            deadline = time.monotonic() + READ_TIMEOUT
            while conn._fill(deadline):  # until the server closes the TCP connection
                pass
    return replies, close, conn.reset


# ---------------------------------------------------------------- scenarios

def record_exchange(conn, req, index, resp, replies=None, note=None, **extra):
    return {
        **extra,
        "client_ip": conn.local[0], "client_port": conn.local[1],
        "request_index": index, "method": req["method"], "path": req["path"],
        "version": req["version"], "headers": req["headers"], "defect": req["defect"],
        "kind": req["kind"], "upgrade_attempt": is_upgrade_attempt(req),
        "status": resp["status"] if resp else None,
        "status_line": resp["status_line"] if resp else None,
        "response_headers": resp["headers"] if resp else [],
        "body": resp["body"].decode("utf-8", "replace") if resp else None,
        "ws_replies": replies, "note": note,
    }


def closed_after_upgrade(ip, port, req):
    conn = Conn(ip, port)
    conn.send(req["bytes"])
    resp = conn.read_response()
    replies, close, reset = (None, None, False)
    note = "no HTTP response within the read timeout or before close"
    if resp and resp["status"] == 101:
        replies, close, reset = server_first_exchange(conn)
        if close:
            note = (f"server sent a close frame right after the 101: "
                    f"{close['code']} {close['reason']!r}")
        elif reset:
            note = "server reset the connection (RST) right after the 101"
        else:
            note = "server neither closed nor reset after the 101"
    elif resp:
        note = None
    ex = record_exchange(conn, req, 0, resp, replies, note, ws_close=close, tcp_reset=reset)
    conn.close()
    return [ex]


def client_refuses_101(ip, port, req):
    """The client checks the 101 and, finding it wrong, fails the connection
    (closes TCP without a single frame)."""
    conn = Conn(ip, port)
    conn.send(req["bytes"])
    resp = conn.read_response()
    note = None if resp else "no HTTP response within the read timeout or before close"
    if resp and resp["status"] == 101:
        note = "the client fails the connection after checking this 101 (RFC 6455 section 4.1)"
    ex = record_exchange(conn, req, 0, resp, None, note)
    conn.close()
    return [ex]


def one_shot(ip, port, req, nodelay=False, pieces=1, tls=False):
    conn = Conn(ip, port, nodelay=nodelay, tls=tls)
    data = req["bytes"]
    if pieces > 1:
        step = max(1, -(-len(data) // pieces))
        for i in range(0, len(data), step):
            conn.send(data[i:i + step])
            time.sleep(0.02)
    else:
        conn.send(data)
    resp = conn.read_response()
    replies = websocket_exchange(conn) if resp and resp["status"] == 101 else None
    note = None if resp else "no HTTP response within the read timeout or before close"
    if pieces > 1:
        note = f"request head sent in {pieces} writes with TCP_NODELAY"
    ex = record_exchange(conn, req, 0, resp, replies, note)
    conn.close()
    return [ex]


def run_scenario(name):
    if name in clients.SCENARIOS:
        return clients.run(name, sys.modules[__name__])
    _, target, kind = fixture(name)
    t = TARGETS[target]
    ip, port = t["ip"], t["port"]
    if kind == "ipv6-ok":
        ip = "::1"
        kind = "ok"
    if kind == "origin-compare":  # same endpoint, one connection per Origin
        out = []
        for k in ("ok", "origin-rejected", "no-origin"):
            out += one_shot(ip, port, build_request(ip, port, k))
        return out
    if kind in CLOSED_101:
        return closed_after_upgrade(ip, port, build_request(ip, port, kind))
    if kind in REFUSED_101:
        return client_refuses_101(ip, port, build_request(ip, port, kind))
    if kind in KINDS or kind in EXTRA_KINDS:
        return one_shot(ip, port, build_request(ip, port, kind), tls=t.get("tls", False))
    if kind == "split-head":
        return one_shot(ip, port, build_request(ip, port, "ok"), nodelay=True, pieces=20)
    if kind == "pipelined":
        conn = Conn(ip, port)
        first = plain_get(ip, port)
        second = build_request(ip, port, "ok")
        conn.send(first["bytes"] + second["bytes"])
        out = []
        r1 = conn.read_response()
        out.append(record_exchange(conn, first, 0, r1))
        r2 = conn.read_response() if r1 else None
        replies = websocket_exchange(conn) if r2 and r2["status"] == 101 else None
        note = f"pipelined after GET /hello (answered {r1['status'] if r1 else 'nothing'})"
        if not r2:
            note += "; no HTTP response to the upgrade: connection closed or timed out"
        out.append(record_exchange(conn, second, 1, r2, replies, note))
        conn.close()
        return out
    if kind == "keepalive-sequence":
        conn = Conn(ip, port)
        reqs = [build_request(ip, port, "missing-upgrade"), plain_get(ip, port), build_request(ip, port, "ok")]
        out = []
        for i, req in enumerate(reqs):
            if conn.closed or not conn.send(req["bytes"]):
                break
            resp = conn.read_response()
            replies = websocket_exchange(conn) if resp and resp["status"] == 101 else None
            note = None
            if resp and conn_closes(resp):
                note = "server closed the connection after this response"
            elif not resp:
                note = "no HTTP response within the read timeout or before close"
            out.append(record_exchange(conn, req, i, resp, replies, note))
            if not resp or conn_closes(resp):
                break
        conn.close()
        return out
    sys.exit(f"unknown kind {kind}")


def conn_closes(resp):
    v = (header_value(resp["headers"], "Connection") or "").lower()
    return "close" in v


# ---------------------------------------------------------------- pcap reading

def read_pcap(path):
    """Yield (src_ip, src_port, dst_ip, dst_port, seq, flags, payload)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            etype, p = struct.unpack("!H", pkt[12:14])[0], 14
            while etype in (0x8100, 0x88A8):
                etype, p = struct.unpack("!H", pkt[p + 2:p + 4])[0], p + 4
        elif linktype == 113:  # Linux cooked
            etype, p = struct.unpack("!H", pkt[14:16])[0], 16
        elif linktype == 276:  # Linux cooked v2
            etype, p = struct.unpack("!H", pkt[0:2])[0], 20
        elif linktype == 0:  # BSD loopback
            fam = struct.unpack("<I", pkt[0:4])[0]
            etype, p = (0x0800 if fam == 2 else 0x86DD), 4
        else:
            raise ValueError(f"unsupported link type {linktype}")
        if etype == 0x0800:
            ihl = (pkt[p] & 0x0F) * 4
            total = struct.unpack("!H", pkt[p + 2:p + 4])[0]
            if pkt[p + 9] != 6:
                continue
            src, dst = socket.inet_ntop(socket.AF_INET, pkt[p + 12:p + 16]), socket.inet_ntop(socket.AF_INET, pkt[p + 16:p + 20])
            end, t = p + total, p + ihl
        elif etype == 0x86DD:
            if pkt[p + 6] != 6:
                continue
            plen = struct.unpack("!H", pkt[p + 4:p + 6])[0]
            src, dst = socket.inet_ntop(socket.AF_INET6, pkt[p + 8:p + 24]), socket.inet_ntop(socket.AF_INET6, pkt[p + 24:p + 40])
            t, end = p + 40, p + 40 + plen
        else:
            continue
        sport, dport, seq = struct.unpack("!HHI", pkt[t:t + 8])
        doff = (pkt[t + 12] >> 4) * 4
        flags = pkt[t + 13]
        yield src, sport, dst, dport, seq, flags, pkt[t + doff:end]


def tcp_streams(path):
    """{(src, sport, dst, dport): bytes} with segments ordered by sequence number."""
    segs = {}
    isn = {}
    for src, sport, dst, dport, seq, flags, payload in read_pcap(path):
        key = (src, sport, dst, dport)
        if flags & 0x02:  # SYN
            isn[key] = seq + 1
        if payload:
            segs.setdefault(key, {}).setdefault(seq, payload)
    out = {}
    for key, by_seq in segs.items():
        base = isn.get(key, min(by_seq))
        stream, pos = b"", base
        for seq in sorted(by_seq, key=lambda s: (s - base) % (1 << 32)):
            payload = by_seq[seq]
            rel = (seq - pos) % (1 << 32)
            if rel < (1 << 31):
                stream += payload
                pos = (seq + len(payload)) % (1 << 32)
            else:  # overlap: keep only the new bytes
                skip = (pos - seq) % (1 << 32)
                if skip < len(payload):
                    stream += payload[skip:]
                    pos = (seq + len(payload)) % (1 << 32)
        out[key] = stream
    return out


def parse_head(stream):
    if b"\r\n\r\n" not in stream:
        return None
    head = stream.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    hdrs = [tuple(s.strip() for s in l.split(":", 1)) for l in head[1:] if ":" in l]
    return head[0], hdrs, stream.split(b"\r\n\r\n", 1)[1]


# ---------------------------------------------------------------- labels

def versions():
    v = {}
    try:
        from importlib.metadata import version
        v["python-websockets"] = version("websockets")
    except Exception:
        v["python-websockets"] = "unknown"
    try:
        with open(os.path.join(HERE, "node_modules", "ws", "package.json")) as f:
            v["node-ws"] = json.load(f)["version"]
    except OSError:
        v["node-ws"] = "unknown"
    try:
        err = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=5).stderr
        v["nginx"] = err.strip().split("/")[-1]
    except (OSError, subprocess.SubprocessError):
        v["nginx"] = "unknown"
    for k in ("faye-websocket", "autobahn", "uvicorn-wsproto", "uvicorn-websockets", "axum", "daphne", "gorilla-websocket",
              "golang-x-net-websocket", "tokio-tungstenite", "tomcat", "hypercorn", "python-websockets15",
              "uvicorn-websockets-sansio", "actix-web", "websocket-node", "mosquitto", "flask-sock",
              "websocketd", "websockify"):
        v[k] = clients.versions()[k]
    for k in ("tornado", "aiohttp"):
        try:
            from importlib.metadata import version
            v[k] = version(k)
        except Exception:
            v[k] = "unknown"
    return v


def excerpt(body):
    if body is None:
        return None
    return body[:200]


def classify(defect, status, proxied_ok_request=False):
    """cause, header for an attempt, following the shared labels' conventions."""
    if status == 101:
        return "ok", None
    if defect == "ok":
        if proxied_ok_request and status is not None:
            return "proxy-stripped-upgrade", None  # header filled in by the caller
        return "other", None
    return DEFECTS[defect]


def label(name, obs_path, pcap_path):
    if name in clients.SCENARIOS:
        return clients.label(name, obs_path, pcap_path, sys.modules[__name__])
    _, target, kind = fixture(name)
    t = TARGETS[target]
    with open(obs_path) as f:
        exchanges = json.load(f)
    vers = versions()
    impl = f"{t['impl']}-{vers[t['impl']]}" if t["impl"] in vers else t["impl"]
    labels = []
    streams = tcp_streams(pcap_path)
    for ex in exchanges:
        if not ex["upgrade_attempt"]:
            continue
        proxied = "backend" in t
        cause, header = classify(ex["defect"], ex["status"], proxied_ok_request=proxied)
        stripped_header = "Connection" if target == "nginx-no-connection-line" else "Upgrade"
        if cause == "proxy-stripped-upgrade":
            header = stripped_header
        if ex["status"] == 101 and ex["kind"] in REFUSED_101:
            cause, header = REFUSED_101[ex["kind"]]
        switched_to = next((v for k, v in ex.get("response_headers", []) if k.lower() == "upgrade"), None)
        if ex["status"] == 101 and switched_to is not None and "websocket" not in switched_to.lower():
            # The server switched to the protocol asked for (an h2c upgrade):
            # the WebSocket handshake failed on the Upgrade header.
            cause, header = "invalid-upgrade", "Upgrade"
            ex["note"] = "; ".join(filter(None, [ex.get("note"), f"the 101 switched to '{switched_to}'"]))
        if ex["status"] == 101 and ex["kind"] in CLOSED_101 and (ex.get("ws_close") or ex.get("tcp_reset")):
            cause, header = "closed-after-upgrade", None
        notes = []
        if ex["status"] == 101 and ex["defect"] != "ok":
            notes.append(f"request carried defect '{ex['defect']}' but the server answered 101")
        if ex["note"]:
            notes.append(ex["note"])
        if t.get("tls"):
            notes.append("client leg inside TLS (self-signed certificate, not verified): "
                         "the handshake is encrypted on the wire")
        if proxied:
            notes.append(f"nginx {target[6:]}: {t['variant']}; backend {t['backend']} at "
                         f"{TARGETS[t['backend']]['ip']}:{TARGETS[t['backend']]['port']}")
        server_ip = "::1" if ex["client_ip"] == "::1" else t["ip"]
        lab = {
            "client_ip": ex["client_ip"], "client_port": ex["client_port"],
            "server_ip": server_ip, "server_port": t["port"],
            "leg": "client", "request_method": ex["method"], "request_path": ex["path"],
            "status": ex["status"], "cause": cause, "header": header, "server_impl": impl,
            "response_body_excerpt": "" if ex["status"] == 101 else excerpt(ex["body"]),
            "scenario": kind if not proxied else
                        "proxy-" + target[len("nginx-"):] + ("" if kind == "ok" else "-" + kind),
            "request_defect": ex["defect"], "request_index": ex["request_index"],
            "response_status_line": ex["status_line"],
        }
        if ex["ws_replies"] is not None:
            lab["ws_replies"] = ex["ws_replies"]
        if ex.get("ws_close"):
            lab["ws_close"] = ex["ws_close"]
        if ex.get("tcp_reset"):
            lab["tcp_reset_after_101"] = True
        if t.get("tls"):
            lab["tls"] = True
            if os.environ.get("WSHS_KEYLOG"):
                lab["keys"] = os.path.basename(os.environ["WSHS_KEYLOG"])
        if notes:
            lab["note"] = "; ".join(notes)
        labels.append(lab)
        if proxied:
            labels.append(backend_leg(streams, t, ex, lab, vers))
    return labels


def backend_leg(streams, t, ex, client_lab, vers):
    """Find the nginx -> backend connection of this attempt in the capture."""
    b = TARGETS[t["backend"]]
    key = header_value(ex["headers"], "Sec-WebSocket-Key")
    candidates = []
    for (src, sport, dst, dport), data in streams.items():
        if dport != b["port"] or dst != b["ip"]:
            continue
        parsed = parse_head(data)
        if not parsed:
            continue
        line, hdrs, _ = parsed
        if key is not None and header_value(hdrs, "Sec-WebSocket-Key") != key:
            continue
        if line.split(" ")[1:2] != [ex["path"]]:
            continue
        candidates.append((src, sport, dst, dport, line, hdrs))
    if len(candidates) != 1:
        raise SystemExit(f"expected one backend leg, found {len(candidates)}")
    src, sport, dst, dport, line, hdrs = candidates[0]
    back = streams.get((dst, dport, src, sport), b"")
    parsed = parse_head(back)
    status, status_line, body = None, None, None
    if parsed:
        status_line, rhdrs, rest = parsed
        m = re.match(r"HTTP/\d\.\d (\d{3})", status_line)
        status = int(m.group(1)) if m else None
        n = header_value(rhdrs, "Content-Length")
        body = "" if status == 101 else rest[:int(n) if n else len(rest)].decode("utf-8", "replace")
    lab = dict(client_lab)
    lab.update({
        "client_ip": src, "client_port": sport, "server_ip": dst, "server_port": dport,
        "leg": "backend", "status": status, "response_status_line": status_line,
        "server_impl": f"{b['impl']}-{vers[b['impl']]}",
        "response_body_excerpt": excerpt(body),
        "note": (f"backend leg found in the capture; request line '{line}', "
                 f"Upgrade={header_value(hdrs, 'Upgrade')!r}, "
                 f"Connection={header_value(hdrs, 'Connection')!r}"),
    })
    lab.pop("ws_replies", None)
    lab.pop("tls", None)
    if status == 101:
        lab["cause"], lab["header"] = "ok", None
    return lab


# ---------------------------------------------------------------- main

def wait_port(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):  # at most ~10 s
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return 0
        except OSError:
            time.sleep(0.1)
        finally:
            s.close()
    print(f"{host}:{port} did not come up", file=sys.stderr)
    return 1


def summary(name, pcap_path, labels_path):
    """One line of record.sh's progress: the capture's size and each labelled attempt."""
    with open(labels_path) as f:
        labs = json.load(f)
    cells = " | ".join(f"{l['leg']}:{l['status']} {l['cause']}" for l in labs)
    print(f"{name:<52} {os.path.getsize(pcap_path):>6} B  {cells or 'NO ATTEMPT'}")


def list_fixtures():
    for name, target, _ in fixtures():
        if name in clients.SCENARIOS:
            print(name + "\t" + clients.filter_of(name))
            continue
        print(name + "\t" + " or ".join(f"tcp port {p}" for p in ports_of(target)))


def main(argv):
    return subcommands.main(argv, __doc__, {
        "list": list_fixtures,
        "wait": lambda host, port: wait_port(host, int(port)),
        "run": lambda name, obs_path: subcommands.write_json(obs_path, run_scenario(name)),
        "summary": summary,
        **subcommands.recorder_commands(label, versions),
    })

if __name__ == "__main__":
    sys.exit(main(sys.argv))
