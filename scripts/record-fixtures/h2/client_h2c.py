#!/usr/bin/env python3
"""An RFC 8441 client over h2c with the `h2` library: HTTP/2 with prior
knowledge, or (--upgrade) an HTTP/1.1 `Upgrade: h2c` request first (RFC 7540
section 3.2), whose 101 turns the same connection into HTTP/2.

Usage: client_h2c.py [--upgrade] HOST PORT PATH[@ORIGIN] [PATH[@ORIGIN] ...]
Opens one connection, waits for the server's SETTINGS, sends one extended
CONNECT per PATH (each on its own stream), and prints one JSON line per
stream: path, stream id, status (or reset code) and whether the server had
enabled the extended CONNECT protocol. Bounded: 10 s per connection.
"""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


def upgrade(sock, conn, host, port):
    """The HTTP/1.1 request that asks for h2c; returns the bytes the server
    sent after its 101 (already HTTP/2), or exits when it did not switch."""
    settings = conn.initiate_upgrade_connection()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                 b"Upgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n"
                 % (host.encode(), port, settings))
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            sys.exit("upgrade: connection closed before the answer")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit("upgrade refused: " + head.split(b"\r\n")[0].decode())
    return rest


def main():
    args = sys.argv[1:]
    via_upgrade = args[:1] == ["--upgrade"]
    if via_upgrade:
        args = args[1:]
    host, port, paths = args[0], int(args[1]), args[2:]
    sock = socket.create_connection((host, port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    early = b""
    if via_upgrade:
        early = upgrade(sock, conn, host, port)
    else:
        conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    results, streams, deadline = {}, {}, time.time() + 10
    enabled = None

    def pump():
        nonlocal enabled, early
        data, early = early or sock.recv(65536), b""
        if not data:
            return False
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                s = ev.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                enabled = bool(s and s.new_value)
            elif getattr(ev, "stream_id", None) == 1 and via_upgrade and 1 not in results:
                # The answer to the upgraded GET itself: not a WebSocket.
                if isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, 1)
            elif isinstance(ev, h2.events.ResponseReceived):
                hdrs = dict(ev.headers)
                results[ev.stream_id]["status"] = int(hdrs[b":status"])
                if results[ev.stream_id]["status"] == 200:
                    conn.send_data(ev.stream_id, b"\x81\x02hi", end_stream=False)
                conn.reset_stream(ev.stream_id) if results[ev.stream_id]["status"] != 200 else None
            elif isinstance(ev, h2.events.StreamReset):
                results[ev.stream_id]["reset"] = int(ev.error_code)
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        sock.sendall(conn.data_to_send())
        return True

    while enabled is None and time.time() < deadline:
        if not pump():
            break
    for arg in paths:
        path, _, origin = arg.partition("@")
        origin = origin or "http://app.test"
        sid = conn.get_next_available_stream_id()
        results[sid] = {"path": path, "origin": origin, "stream_id": sid, "status": None,
                        "reset": None, "connect_enabled": enabled,
                        "client_port": sock.getsockname()[1]}
        conn.send_headers(sid, [
            (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
            (":path", path), (":authority", f"{host}:{port}"),
            ("sec-websocket-version", "13"), ("origin", origin),
        ])
        sock.sendall(conn.data_to_send())
        while results[sid]["status"] is None and results[sid]["reset"] is None and time.time() < deadline:
            try:
                if not pump():
                    break
            except socket.timeout:
                break
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    for r in results.values():
        print(json.dumps(r))


if __name__ == "__main__":
    main()
