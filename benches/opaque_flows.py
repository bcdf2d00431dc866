#!/usr/bin/env python3
"""Write a capture of TCP connections that carry no HTTP at all: CONNECTIONS
connections (their SYN and SYN-ACK included) on ports a busy host serves
other protocols on (443, 5432, 6379, 9000) and on HTTP's own (80, 8080),
then PACKETS rounds in which every connection sends one segment of 100-1400
bytes of random data, from either side. A database or cache host, or a
proxy's opaque tunnels: every direction reads as not HTTP from its first
byte, so the analyzer searches each segment for the start of an HTTP message
(a capture may begin inside a connection) and finds none.

usage: opaque_flows.py CONNECTIONS PACKETS OUT.pcap [--seed N]

No upgrade attempt is in it: wshs-sniff must report none.
"""
import random
import sys

from tcp_pcap import Writer, take_seed

SERVER = [10, 2, 0, 1]
PORTS = [443, 5432, 6379, 9000, 8080, 80]


def main():
    args = sys.argv[1:]
    seed = take_seed(args, 1)
    if len(args) != 3:
        sys.exit(__doc__.strip().split("\n\n")[1])
    conns, rounds, out = int(args[0]), int(args[1]), args[2]
    rng = random.Random(seed)
    blob = rng.randbytes(1 << 20)
    w = Writer(out)
    flows = []
    for i in range(conns):
        client = [10, 1, (i >> 8) & 255, i & 255]
        flows.append([client, 20000 + i % 40000, rng.choice(PORTS), 1000, 5000])
    for client, cport, sport, cs, ss in flows:
        w.packet(client, SERVER, cport, sport, cs, 0, 0x02, b"")
        w.packet(SERVER, client, sport, cport, ss, cs + 1, 0x12, b"")
    for f in flows:
        f[3] += 1
        f[4] += 1
    for _ in range(rounds):
        rng.shuffle(flows)
        for f in flows:
            client, cport, sport, cs, ss = f
            n = rng.randint(100, 1400)
            at = rng.randint(0, len(blob) - n)
            data = blob[at:at + n]
            if rng.random() < 0.5:
                w.packet(client, SERVER, cport, sport, cs, ss, 0x18, data)
                f[3] += n
            else:
                w.packet(SERVER, client, sport, cport, ss, cs, 0x18, data)
                f[4] += n
    w.close()


if __name__ == "__main__":
    main()
