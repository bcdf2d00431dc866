#!/usr/bin/env python3
"""A backend address that drops SYNs, on plain loopback, without a firewall:
a socket listening with a backlog of 0 whose one slot is taken by its own
connection and never accepted. With its accept queue full, Linux drops every
further SYN (no SYN-ACK, no reset), so a proxy's connect there times out after
its SYNs are sent again, as to a host behind a firewall that drops them.

Runs until SIGTERM (at most 30 minutes).
Usage: server_tarpit.py PORT [HOST]
"""
import signal
import socket
import sys
import time

MAX_LIFE = 1800


def main(argv):
    port = int(argv[1])
    host = argv[2] if len(argv) > 2 else "127.0.0.1"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(0)
    # The one connection the queue holds; never accepted.
    filler = socket.create_connection((host, port), timeout=5)
    print(f"tarpit on {host}:{port}", flush=True)
    time.sleep(MAX_LIFE)
    filler.close()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
