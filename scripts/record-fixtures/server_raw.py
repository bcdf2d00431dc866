#!/usr/bin/env python3
"""A deliberately broken WebSocket test server: it answers every upgrade
request with a 101 that a correct client must refuse (RFC 6455 section 4.1).

/bad-accept             101 whose Sec-WebSocket-Accept is not derived from the key
/subprotocol-mismatch   101 selecting Sec-WebSocket-Protocol: chat.v2 (whatever was offered)
/extension-unoffered    101 with Sec-WebSocket-Extensions: permessage-deflate
/upgrade-h2c            101 with Upgrade: h2c (switches to something other than websocket)
other                   404

After the 101 it waits (at most 2 s) for the client to close, then closes.
Usage: server_raw.py PORT [HOST ...]
"""
import base64
import hashlib
import signal
import socket
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEAD_LIMIT = 16384
TIMEOUT = 2.0


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def answer(path, headers):
    key = headers.get("sec-websocket-key", "")
    good = accept_for(key)
    base = ["HTTP/1.1 101 Switching Protocols", "Server: raw-python-testserver"]
    ws = ["Upgrade: websocket", "Connection: Upgrade"]
    if path == "/bad-accept":
        # the accept value of another key: well-formed, but wrong
        lines = base + ws + ["Sec-WebSocket-Accept: " + accept_for("x" + key)]
    elif path == "/subprotocol-mismatch":
        lines = base + ws + ["Sec-WebSocket-Accept: " + good, "Sec-WebSocket-Protocol: chat.v2"]
    elif path == "/extension-unoffered":
        lines = base + ws + ["Sec-WebSocket-Accept: " + good,
                             "Sec-WebSocket-Extensions: permessage-deflate"]
    elif path == "/upgrade-h2c":
        lines = base + ["Connection: Upgrade", "Upgrade: h2c"]
    else:
        body = "Not Found\n"
        lines = ["HTTP/1.1 404 Not Found", "Server: raw-python-testserver",
                 "Content-Type: text/plain", f"Content-Length: {len(body)}",
                 "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode(), False
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), True


def serve(conn):
    conn.settimeout(TIMEOUT)
    try:
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < HEAD_LIMIT:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
        if b"\r\n\r\n" not in buf:
            return
        lines = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1].split("?")[0] if len(parts) > 1 else "/"
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        data, switched = answer(path, headers)
        conn.sendall(data)
        if switched:
            # the client is expected to fail the connection: wait for its close
            while conn.recv(4096):
                pass
    except OSError:
        pass
    finally:
        conn.close()


def listen(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    return s


def main():
    port = int(sys.argv[1])
    hosts = sys.argv[2:] or ["127.0.0.1"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    socks = [listen(h, port) for h in hosts]
    for s in socks:
        s.settimeout(0.2)
    print(f"listening {hosts} {port}", flush=True)
    while not stop.is_set():
        for s in socks:
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
