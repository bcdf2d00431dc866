"""What the namespace recorders' clients (fragments_client.py,
fastopen_client.py) share: a handshake request built from a scenario's
changes, the answer read on an open socket (a 101 followed by one echo and
a clean close, as a real client does), and the label of one attempt, taken
from the scenario and the status line the server sent back.
"""
import base64
import json
import os
import struct
from importlib.metadata import version


def request(host, path, changes, cookie=None):
    """A GET upgrade for `path`; `changes` maps header names to a new value,
    or to None to drop the header."""
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        "Origin": "http://app.test",
    }
    if cookie:
        headers["Cookie"] = cookie
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


def answer(sock):
    """(status, status line) of the answer to the request just sent; after a
    101, one echo and a clean close."""
    head = read_head(sock)
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    status = int(status_line.split()[1])
    if status == 101:
        sock.sendall(masked(0x1, b"hello"))
        sock.recv(4096)
        sock.sendall(masked(0x8, struct.pack("!H", 1000)))
        try:
            sock.recv(4096)
        except OSError:
            pass
    return status, status_line


def label(sock_name, server, port, path, status, status_line, scenario, cause, header, leg, **more):
    """The label of one attempt to the Python websockets server."""
    client_ip, client_port = sock_name[:2]
    return {
        "client_ip": client_ip,
        "client_port": client_port,
        "server_ip": server,
        "server_port": port,
        "leg": leg,
        "request_method": "GET",
        "request_path": path,
        "status": status,
        "cause": cause,
        "header": header,
        "server_impl": "python-websockets-" + version("websockets"),
        "scenario": scenario,
        "request_index": 0,
        "response_status_line": status_line,
        **more,
    }


def write_labels(out, labels):
    with open(out, "w") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")
