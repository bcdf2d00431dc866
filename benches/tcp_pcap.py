"""A minimal classic-pcap writer of Ethernet/IPv4/TCP packets, for the bench
scripts that build captures of one traffic pattern (slow_heads.py,
tls_empty_messages.py, handshake_storm.py, small_frames.py,
opaque_flows.py)."""
import struct


def take_seed(args, default):
    """The value of `--seed N` in `args` (removed from them), or `default`."""
    if "--seed" not in args:
        return default
    i = args.index("--seed")
    seed = int(args[i + 1])
    del args[i:i + 2]
    return seed


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


class Writer:
    """Packets 10 µs apart, from t = 1 s."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.clock = 1_000_000

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        tcp += payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                         bytes(src), bytes(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp
        self.clock += 10
        self.f.write(struct.pack("<IIII", self.clock // 1_000_000, self.clock % 1_000_000,
                                 len(frame), len(frame)) + frame)

    def exchange(self, client, server, cport, sport, req, resp, seg=None):
        """One connection: handshake, the request (in pieces of `seg` bytes,
        or one segment), the response, and a FIN each way."""
        cs, ss = 1000, 5000
        self.packet(client, server, cport, sport, cs, 0, 0x02, b"")
        self.packet(server, client, sport, cport, ss, cs + 1, 0x12, b"")
        cs, ss = cs + 1, ss + 1
        self.packet(client, server, cport, sport, cs, ss, 0x10, b"")
        step = seg or max(len(req), 1)
        for i in range(0, len(req), step):
            self.packet(client, server, cport, sport, cs + i, ss, 0x18, req[i:i + step])
        cs += len(req)
        self.packet(server, client, sport, cport, ss, cs, 0x18, resp)
        ss += len(resp)
        self.packet(server, client, sport, cport, ss, cs, 0x11, b"")
        self.packet(client, server, cport, sport, cs, ss + 1, 0x11, b"")

    def close(self):
        self.f.close()
