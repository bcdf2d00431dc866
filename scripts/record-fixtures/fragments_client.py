"""The client of fragments.sh: WebSocket handshakes whose requests carry a
1.2 KB Cookie header, so that each request leaves as one 1500-byte packet
and reaches the server in fragments. Labels each attempt from the scenario
it set up and the status line the server sent back.

usage: fragments_client.py SERVER_IP PORT LABELS_OUT [ROUNDS [MARK]]

ROUNDS plays the scenarios that many times (1 by default); MARK is the
label field set true on every attempt ("fragmented" by default; lossy.sh
says "lossy").
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from handshakes import answer, label, request, write_labels  # noqa: E402

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


def main():
    server, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    mark = sys.argv[5] if len(sys.argv) > 5 else "fragmented"
    labels = []
    for scenario, path, changes, cause, header in SCENARIOS * rounds:
        sock = socket.create_connection((server, port), timeout=15)
        req = request(f"{server}:{port}", path, changes, cookie=COOKIE)
        assert len(req) > 1200, "the request must outgrow the 576-byte link"
        sock.sendall(req)
        status, status_line = answer(sock)
        labels.append(label(sock.getsockname(), server, port, path, status, status_line,
                            scenario, cause, header, "client", **{mark: True}))
        sock.close()
    write_labels(out, labels)


if __name__ == "__main__":
    main()
