#!/usr/bin/env python3
"""Write a capture of one TLS client that sends RECORDS handshake records,
each full of empty handshake messages (4096 of them per 16 KiB record),
before any ClientHello. Measures what the TLS reader pays per message.

usage: tls_empty_messages.py RECORDS OUT.pcap
"""
import sys

from tcp_pcap import Writer


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tls_empty_messages.py RECORDS OUT.pcap")
    records, out = int(sys.argv[1]), sys.argv[2]
    w = Writer(out)
    packet = w.packet

    client, server, cport, sport = [10, 0, 0, 1], [10, 0, 0, 80], 40000, 443
    cs, ss = 1000, 5000
    packet(client, server, cport, sport, cs, 0, 0x02, b"")
    packet(server, client, sport, cport, ss, cs + 1, 0x12, b"")
    cs, ss = cs + 1, ss + 1
    packet(client, server, cport, sport, cs, ss, 0x10, b"")
    record = b"\x16\x03\x01\x40\x00" + b"\x00\x00\x00\x00" * 4096
    data = record * records
    for i in range(0, len(data), 1448):
        packet(client, server, cport, sport, cs + i, ss, 0x18, data[i:i + 1448])
    w.close()


if __name__ == "__main__":
    main()
