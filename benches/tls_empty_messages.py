#!/usr/bin/env python3
"""Write a capture of one TLS client that sends RECORDS handshake records,
each full of empty handshake messages (4096 of them per 16 KiB record),
before any ClientHello. Measures what the TLS reader pays per message.

usage: tls_empty_messages.py RECORDS OUT.pcap
"""
import struct
import sys


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tls_empty_messages.py RECORDS OUT.pcap")
    records, out = int(sys.argv[1]), sys.argv[2]
    f = open(out, "wb")
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    clock = [1_000_000]

    def packet(src, dst, sport, dport, seq, ack, flags, payload):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        tcp += payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                         bytes(src), bytes(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp
        clock[0] += 10
        f.write(struct.pack("<IIII", clock[0] // 1_000_000, clock[0] % 1_000_000,
                            len(frame), len(frame)) + frame)

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


if __name__ == "__main__":
    main()
