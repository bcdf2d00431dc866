"""The client of fastopen.sh: WebSocket handshakes sent with TCP Fast Open
(MSG_FASTOPEN), so that from the second connection on the request rides in
the SYN itself. Labels each attempt from the scenario it set up and the
status line the server sent back; `syn_data` is the kernel's own word
(TCP_INFO) on whether the server took the data carried by the SYN.

usage: fastopen_client.py SERVER_IP PORT LABELS_OUT
"""
import base64
import json
import os
import socket
import struct
import sys
from importlib.metadata import version

# The first connection only fetches the server's Fast Open cookie (its
# request follows the handshake); the others send theirs in the SYN.
SCENARIOS = [
    ("ok-cookie", "/ws", {}, "ok", None),
    ("ok", "/ws", {}, "ok", None),
    ("origin-rejected", "/ws", {"Origin": "http://evil.test"}, "origin-rejected", "Origin"),
    ("subprotocol-missing", "/chat", {}, "subprotocol-rejected", "Sec-WebSocket-Protocol"),
]
TCPI_OPT_SYN_DATA = 32


def request(host, path, changes):
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Origin": "http://app.test",
    }
    headers.update(changes)
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
        client_ip, client_port = sock.getsockname()[:2]
        head = read_head(sock)
        syn_data = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5] & TCPI_OPT_SYN_DATA)
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
            "leg": "direct",
            "request_method": "GET",
            "request_path": path,
            "status": status,
            "cause": cause,
            "header": header,
            "server_impl": "python-websockets-" + version("websockets"),
            "scenario": scenario,
            "request_index": 0,
            "response_status_line": status_line,
            "syn_data": syn_data,
            "note": "TCP Fast Open: the request in the SYN" if syn_data else "TCP Fast Open cookie fetched; request after the handshake",
        })
    with open(out, "w") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")
    if not any(label["syn_data"] for label in labels):
        sys.exit("fastopen_client.py: no request went in a SYN")


if __name__ == "__main__":
    main()
