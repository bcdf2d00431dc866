#!/usr/bin/env python3
"""Cross-check fixtures/*.labels.json against the captures with tshark.

For every label: the capture must hold a request with that method and path on
the labelled connection (client port -> server port), and the labelled status
must be among the HTTP response codes seen on that connection (or none seen
when the label says null). A label with "tls": true (the client leg of a
TLS-terminating proxy) is checked for a TLS ClientHello on its connection
instead, since its HTTP is encrypted; when the fixture has its keys (a
NAME.keylog beside it, or a Decryption Secrets Block in a pcapng) tshark
decrypts it and the request and status are checked like clear ones, and
every WebSocket upgrade request tshark then reads must be labelled.
Prints one line per problem; exit 1 if any.
Usage: verify.py [FIXTURES_DIR]
"""
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


DECODE = ["-d", "tcp.port==18401-18412,http", "-d", "tcp.port==18415,http",
          "-d", "tcp.port==18420-18486,http",
          "-d", "tcp.port==18530,http",
          "-d", "tcp.port==18413-18414,tls", "-d", "tcp.port==18520-18527,tls"]


def tls_hellos(pcap, keys=()):
    """(client port, server port) of every TLS ClientHello."""
    out = subprocess.run(
        ["tshark", "-r", pcap, *DECODE, *keys, "-Y", "tls.handshake.type == 1", "-T", "fields",
         "-E", "separator=\t", "-e", "tcp.srcport", "-e", "tcp.dstport"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return {tuple(int(x) for x in line.split("\t")) for line in out.splitlines() if line}


def http_messages(pcap, keys=()):
    out = subprocess.run(
        # A head counts without its body: a proxy that gives up on an
        # answer closes before the rest of it, which tshark then never
        # reassembles.
        ["tshark", "-r", pcap, *DECODE, *keys, "-o", "http.desegment_body:FALSE",
         "-Y", "http", "-T", "fields", "-E", "separator=\t",
         "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "http.request.method",
         "-e", "http.request.uri", "-e", "http.response.code"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    msgs = []
    for line in out.splitlines():
        f = (line.split("\t") + [""] * 5)[:5]
        msgs.append((int(f[0]), int(f[1]), f[2], f[3], f[4]))
    return msgs


def upgrade_requests(pcap, keys):
    """(client port, server port, path) of every HTTP/1.1 request tshark
    reads (decrypting with `keys`) that asks for a WebSocket upgrade."""
    out = subprocess.run(
        ["tshark", "-r", pcap, *DECODE, *keys, "-Y", 'http.request and http.upgrade contains "websocket"',
         "-T", "fields", "-E", "separator=\t", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "http.request.uri"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return {(int(a), int(b), uri) for a, b, uri in
            ((line.split("\t") + [""] * 3)[:3] for line in out.splitlines() if line)}


def h2_streams(pcap, keys=(), first="http2"):
    """(client port, stream id) -> [method, path, status] of every HTTP/2 HEADERS.
    `first`: what the connections start with (http2 with prior knowledge, or
    http for an `Upgrade: h2c` that tshark follows into HTTP/2)."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-d", "tcp.port==18420-18421," + first, "-d", "tcp.port==18422,tls",
         *keys, "-Y", "http2.type == 1",
         "-T", "fields", "-E", "separator=\t", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "http2.streamid", "-e", "http2.headers.method", "-e", "http2.headers.path",
         "-e", "http2.headers.status"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    streams = {}
    for line in out.splitlines():
        src, dst, sid, method, path, status = (line.split("\t") + [""] * 6)[:6]
        for one in sid.split(","):
            key = (int(src), int(one)) if method else (int(dst), int(one))
            row = streams.setdefault(key, [None, None, None])
            if method:
                row[0], row[1] = method, path
            if status:
                row[2] = int(status.split(",")[0])
    return streams


def main():
    fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "fixtures")
    problems = 0
    files = sorted(glob.glob(os.path.join(fixtures, "*.labels.json")))
    for labels_path in files:
        name = os.path.basename(labels_path)[:-len(".labels.json")]
        if name.endswith("-merged-skew"):
            # Derived (derive_skewed.sh): answers stamped before their
            # requests, which tshark's HTTP reassembly does not pair; the
            # labels are those of the recorded fixture checked under its own
            # name.
            continue
        pcap = os.path.join(fixtures, name + ".pcap")
        if not os.path.exists(pcap):
            pcap += "ng"
        keylog = os.path.join(fixtures, name + ".keylog")
        keys = ["-o", "tls.keylog_file:" + keylog] if os.path.exists(keylog) else []
        msgs = http_messages(pcap, keys)
        with open(labels_path) as f:
            labels = json.load(f)
        if not labels:
            print(f"{name}: no upgrade attempt labelled")
            problems += 1
        hellos = None
        streams = None
        if keys:
            # Every upgrade tshark finds with the key log is labelled.
            labelled = {(l["client_port"], l["server_port"], l["request_path"]) for l in labels}
            for seen in sorted(upgrade_requests(pcap, keys) - labelled):
                print(f"{name}: tshark decrypted an upgrade with no label: {seen[0]}->{seen[1]} {seen[2]}")
                problems += 1
        for lab in labels:
            cp, sp = lab["client_port"], lab["server_port"]
            if lab.get("http_version") == "2":
                if streams is None:
                    streams = h2_streams(pcap, keys, "http")
                    streams.update(h2_streams(pcap, keys))
                want = [lab["request_method"], lab["request_path"], lab["status"]]
                if "stream_id" in lab:
                    got = streams.get((cp, lab["stream_id"]))
                else:  # labels from the server's side know the path, not the stream
                    got = next((v for (port, _), v in streams.items()
                                if port == cp and v[1] == lab["request_path"]), None)
                if got != want:
                    print(f"{name}: {lab['request_path']} on {cp}->{sp}: tshark saw {got}, label {want}")
                    problems += 1
                continue
            if lab.get("tls"):
                hellos = tls_hellos(pcap) if hellos is None else hellos
                if (cp, sp) not in hellos:
                    print(f"{name}: no TLS ClientHello on {cp}->{sp} ({lab['leg']})")
                    problems += 1
                if not lab.get("keys"):
                    continue
            reqs = [m for m in msgs if m[0] == cp and m[1] == sp and m[2]]
            codes = [int(c) for m in msgs if m[0] == sp and m[1] == cp and m[4]
                     for c in m[4].split(",")]
            if not any(lab["request_method"] in m[2] for m in reqs):
                print(f"{name}: no {lab['request_method']} request on {cp}->{sp} ({lab['leg']})")
                problems += 1
            if lab["status"] is None and codes and len(codes) > lab["request_index"]:
                print(f"{name}: labelled no response but saw {codes} on {cp}->{sp}")
                problems += 1
            if lab["status"] is not None and lab["status"] not in codes:
                print(f"{name}: labelled {lab['status']} but saw {codes} on {cp}->{sp}")
                problems += 1
    print(f"verify: {len(files)} fixtures, {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
