#!/usr/bin/env python3
"""An HTTP/2 server without RFC 8441 (the `h2` library with its defaults, so
SETTINGS_ENABLE_CONNECT_PROTOCOL is never advertised), over h2c. A GET gets
200; a CONNECT gets 405, as from a server that does not tunnel. Usage: server_plain_h2.py PORT (serves up to 20 connections)."""
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def serve(conn_sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    conn_sock.sendall(conn.data_to_send())
    conn_sock.settimeout(5)
    while True:
        try:
            data = conn_sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            conn_sock.sendall(conn.data_to_send())
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                method = dict(ev.headers).get(b":method")
                status = "405" if method == b"CONNECT" else "200"
                conn.send_headers(ev.stream_id, [(":status", status), ("server", "python-h2")],
                                  end_stream=True)
        conn_sock.sendall(conn.data_to_send())


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(8)
    print("listening", flush=True)
    for _ in range(20):
        c, _ = srv.accept()
        with c:
            serve(c)


if __name__ == "__main__":
    main()
