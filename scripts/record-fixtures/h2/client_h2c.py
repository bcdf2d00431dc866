#!/usr/bin/env python3
"""An RFC 8441 client over h2c (prior knowledge) with the `h2` library.

Usage: client_h2c.py HOST PORT PATH[@ORIGIN] [PATH[@ORIGIN] ...]
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


def main():
    host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sock = socket.create_connection((host, port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    results, streams, deadline = {}, {}, time.time() + 10
    enabled = None

    def pump():
        nonlocal enabled
        data = sock.recv(65536)
        if not data:
            return False
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                s = ev.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                enabled = bool(s and s.new_value)
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
