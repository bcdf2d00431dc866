#!/usr/bin/env python3
"""A plain TCP echo service: the target behind websockify (what a VNC or
SSH server is behind noVNC's proxy). Every connection gets back what it
sends, until it closes or is quiet for 10 s.

Usage: server_tcp_echo.py PORT [HOST]
"""
import signal
import socket
import sys
import threading

IDLE = 10.0


def serve(conn):
    conn.settimeout(IDLE)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.create_server((host, port), reuse_port=False)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
