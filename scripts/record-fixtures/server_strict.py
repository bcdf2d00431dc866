"""Hand-written strict WebSocket server used to record fixtures.

It refuses what RFC 6455 and RFC 9110 allow, the way strict hand-rolled
servers do: it compares header values exactly and looks header names up in
one case only. Everything it does accept gets a correct 101.

/strict-connection  Connection must be exactly "Upgrade" (so Firefox's
                    "keep-alive, Upgrade" is refused: 400 with a text)
/strict-names       header names looked up as "Sec-WebSocket-Key" exactly
                    (a lowercase name is "missing": 400 with a text)
other               404
Usage: server_strict.py PORT [HOST]
"""
import base64
import hashlib
import socket
import socketserver
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def answer(status, reason, text):
    body = text.encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1].split("?")[0] if len(parts) > 1 else ""
        # names kept as sent: the strictness under test
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip()] = v.strip()
        if path == "/strict-connection":
            if headers.get("Connection") != "Upgrade":
                sock.sendall(answer(400, "Bad Request", "Connection header must be 'Upgrade'\n"))
                return
        elif path != "/strict-names":
            sock.sendall(answer(404, "Not Found", "Not Found\n"))
            return
        key = headers.get("Sec-WebSocket-Key")
        if key is None:
            sock.sendall(answer(400, "Bad Request", "Missing Sec-WebSocket-Key header\n"))
            return
        if headers.get("Upgrade", "").lower() != "websocket":
            sock.sendall(answer(400, "Bad Request", "Upgrade header must be 'websocket'\n"))
            return
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        try:  # wait for the client to close (bounded)
            while sock.recv(65536):
                pass
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    with Server((host, port), Handler) as srv:
        print(f"strict server listening {host}:{port}", flush=True)
        srv.serve_forever()
