"""The client of fastopen.sh: WebSocket handshakes sent with TCP Fast Open
(MSG_FASTOPEN), so that from the second connection on the request rides in
the SYN itself. Labels each attempt from the scenario it set up and the
status line the server sent back; `syn_data` is the kernel's own word
(TCP_INFO) on whether the server took the data carried by the SYN.

usage: fastopen_client.py SERVER_IP PORT LABELS_OUT
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from handshakes import answer, label, request, write_labels  # noqa: E402

# The first connection only fetches the server's Fast Open cookie (its
# request follows the handshake); the others send theirs in the SYN.
SCENARIOS = [
    ("ok-cookie", "/ws", {}, "ok", None),
    ("ok", "/ws", {}, "ok", None),
    ("origin-rejected", "/ws", {"Origin": "http://evil.test"}, "origin-rejected", "Origin"),
    ("subprotocol-missing", "/chat", {}, "subprotocol-rejected", "Sec-WebSocket-Protocol"),
]
TCPI_OPT_SYN_DATA = 32


def main():
    server, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    labels = []
    for scenario, path, changes, cause, header in SCENARIOS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        req = request(f"{server}:{port}", path, changes)
        # Blocking while it connects: with a timeout set, the socket is
        # non-blocking underneath and the send returns EINPROGRESS.
        sent = sock.sendto(req, socket.MSG_FASTOPEN, (server, port))
        sock.settimeout(5)
        if sent < len(req):
            sock.sendall(req[sent:])
        status, status_line = answer(sock)
        syn_data = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5] & TCPI_OPT_SYN_DATA)
        note = ("TCP Fast Open: the request in the SYN" if syn_data
                else "TCP Fast Open cookie fetched; request after the handshake")
        labels.append(label(sock.getsockname(), server, port, path, status, status_line,
                            scenario, cause, header, "direct", syn_data=syn_data, note=note))
        sock.close()
    write_labels(out, labels)
    if not any(lab["syn_data"] for lab in labels):
        sys.exit("fastopen_client.py: no request went in a SYN")


if __name__ == "__main__":
    main()
