"""The client of fragments.sh: WebSocket handshakes whose requests carry a
1.2 KB Cookie header, so that each request leaves as one 1500-byte packet
and reaches the server in fragments. Labels each attempt from the scenario
it set up and the status line the server sent back.

usage: fragments_client.py SERVER_IP PORT LABELS_OUT [ROUNDS [MARK]]

ROUNDS plays the scenarios that many times (1 by default); MARK is the
label field set true on every attempt ("fragmented" by default; lossy.sh
says "lossy").
"""
import base64
import json
import os
import socket
import struct
import sys
from importlib.metadata import version

# Filler, not a credential: a long cookie is what makes a request outgrow the
# small link.
COOKIE = "session=" + "f" * 600 + "; prefs=" + "p" * 560

# (scenario, path, headers to drop or add, cause, header the cause names)
SCENARIOS = [
    ("ok", "/ws", {}, "ok", None),
    ("missing-version", "/ws", {"Sec-WebSocket-Version": None},
     "missing-sec-websocket-version", "Sec-WebSocket-Version"),
    ("origin-rejected", "/ws", {"Origin": "http://evil.test"},
     "origin-rejected", "Origin"),
    ("subprotocol-missing", "/chat", {}, "subprotocol-rejected",
     "Sec-WebSocket-Protocol"),
]


def request(host, path, changes):
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        "Origin": "http://app.test",
        "Cookie": COOKIE,
    }
    for name, value in changes.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode()


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def masked(opcode, payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def main():
    server, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    mark = sys.argv[5] if len(sys.argv) > 5 else "fragmented"
    labels = []
    for scenario, path, changes, cause, header in SCENARIOS * rounds:
        sock = socket.create_connection((server, port), timeout=15)
        client_ip, client_port = sock.getsockname()[:2]
        req = request(f"{server}:{port}", path, changes)
        assert len(req) > 1200, "the request must outgrow the 576-byte link"
        sock.sendall(req)
        head = read_head(sock)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        status = int(status_line.split()[1])
        if status == 101:
            # One echo and a clean close, as a real client does.
            sock.sendall(masked(0x1, b"hello"))
            sock.recv(4096)
            sock.sendall(masked(0x8, struct.pack("!H", 1000)))
            try:
                sock.recv(4096)
            except OSError:
                pass
        sock.close()
        labels.append({
            "client_ip": client_ip,
            "client_port": client_port,
            "server_ip": server,
            "server_port": port,
            "leg": "client",
            "request_method": "GET",
            "request_path": path,
            "status": status,
            "cause": cause,
            "header": header,
            "server_impl": "python-websockets-" + version("websockets"),
            "scenario": scenario,
            "request_index": 0,
            "response_status_line": status_line,
            mark: True,
        })
    with open(out, "w") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
